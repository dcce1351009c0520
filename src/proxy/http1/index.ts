/** The HTTP/1.1 fast path: hand-parsed requests on raw sockets for the common case. */
export {
  type FastConnection,
  type FastHandler,
  type FastOptions,
  type FastRequest,
  serveFast,
} from './fast-connection.js';
export { FastResponse } from './fast-response.js';
