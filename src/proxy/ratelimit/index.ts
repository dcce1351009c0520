/**
 * Local rate limiting in the sidecar: Envoy's HTTP local_ratelimit configs (the inbound
 * listener's, and routes' typed_per_filter_config) compiled into limiters over token buckets,
 * with the clock passed in.
 */
export { limitedStatus, TOO_MANY_REQUESTS } from './http-status.js';
export {
  compileLocalRateLimit,
  LocalRateLimiter,
  MIN_FILL_INTERVAL_MS,
} from './local-rate-limit.js';
export { TokenBucket } from './token-bucket.js';
