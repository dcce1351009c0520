/**
 * Local rate limits of services (inbound) and routes (outbound), as a token bucket after
 * Envoy's local_ratelimit filter. The schema checks every field; this only applies defaults.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/local_rate_limit_filter
 */

import { int, isRecord, oneOf } from '../parsed-data/index.js';
import type { RateLimit } from './model.js';

export function normalizeRateLimit(raw: unknown): { rateLimit?: RateLimit } {
  if (!isRecord(raw)) return {};
  const requestsPerUnit = int(raw.requestsPerUnit);
  const unit = oneOf(raw.unit, ['second', 'minute'] as const);
  if (requestsPerUnit === undefined || requestsPerUnit < 1 || unit === undefined) return {};
  const burst = int(raw.burst) ?? 0;
  return { rateLimit: { requestsPerUnit, unit, burst: Math.max(burst, 0) } };
}
