/** Upstream connection pools (undici), per endpoint and protocol. */
export { type PoolSettings, UpstreamPools, type UpstreamProtocol } from './upstream-pools.js';
