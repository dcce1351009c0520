/** Upstream connection pools, per endpoint and protocol. */

export { connectEndpoint, type EndpointConnection } from './connect-endpoint.js';
export {
  CONNECT_TIMEOUT,
  OVERFLOW,
  PROTOCOL_ERROR,
  REFUSED_STREAM,
  TLS_HANDSHAKE,
  UpstreamError,
} from './upstream-error.js';
export {
  type Upstream,
  UpstreamPools,
  type UpstreamProtocol,
  type UpstreamTls,
} from './upstream-pools.js';
