/** Upstream connection pools, per endpoint and protocol. */

export { connectEndpoint, type EndpointConnection } from './connect-endpoint.js';
export { OVERFLOW, PROTOCOL_ERROR, TLS_HANDSHAKE } from './upstream-error.js';
export {
  type Http1Engine,
  type PoolSettings,
  type Upstream,
  UpstreamPools,
  type UpstreamProtocol,
  type UpstreamTls,
} from './upstream-pools.js';
