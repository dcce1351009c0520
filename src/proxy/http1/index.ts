/** The HTTP/1.1 fast path: hand-parsed requests on raw sockets for the common case. */

export { BodyReader, type BodySink } from './body-reader.js';
export {
  type FastConnection,
  type FastRequest,
  serveFast,
} from './fast-connection.js';
export { FastResponse } from './fast-response.js';
export {
  CRLF2,
  type Framing,
  framingOf,
  isFieldValue,
  isRequestTarget,
  isToken,
  NO_BODY,
  parseResponseHead,
  type ResponseHead,
  UNTIL_CLOSE,
} from './response-head.js';
export { batchWrite } from './write-batch.js';
