/**
 * Local rate limiting in the sidecar: Envoy's HTTP local_ratelimit configs (the inbound
 * listener's, and routes' typed_per_filter_config) compiled into limiters over token buckets,
 * with the clock passed in.
 */
export { limitedStatus } from './http-status.js';
export {
  compileLocalRateLimit,
  LocalRateLimiter,
} from './local-rate-limit.js';
export { TokenBucket } from './token-bucket.js';
