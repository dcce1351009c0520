/**
 * Envoy's HTTP local rate limit filter, compiled once per configuration into a limiter that
 * owns its token bucket. The inbound listener's filter limits every request the sidecar
 * accepts for its service; a route's typed_per_filter_config gives that route a bucket of its
 * own (and the outbound listener's filter, which has no bucket, limits nothing by itself).
 *
 * Semantics, as Envoy's: `filter_enabled` is the share of requests that consult the bucket,
 * `filter_enforced` the share of those found over the limit that are refused (both 0% when
 * absent, Envoy's safe default; there is no runtime, so the default values apply). A refused
 * request is answered with `status` (429 by default), and the rest pass.
 *
 * Supported: token_bucket, status, filter_enabled, filter_enforced. Refused, naming the field:
 * descriptors, local_cluster_rate_limit, per-connection buckets and the header options.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/local_rate_limit_filter
 */
import { durationMs, type envoy, types } from '../../xds/index.js';
import {
  compileFraction,
  FilterConfigError,
  type FilterTypedConfig,
  type Fraction,
  filterMessage,
  inFraction,
  NEVER,
} from '../fault/index.js';
import { limitedStatus } from './http-status.js';
import { TokenBucket } from './token-bucket.js';

/** Envoy refuses shorter fill intervals for the HTTP local rate limit. */
export const MIN_FILL_INTERVAL_MS = 50;

const UNSUPPORTED = [
  'descriptors',
  'local_cluster_rate_limit',
  'local_rate_limit_per_downstream_connection',
  'request_headers_to_add_when_not_enforced',
  'response_headers_to_add',
  'enable_x_ratelimit_headers',
] as const;

export class LocalRateLimiter {
  /** @internal Use compileLocalRateLimit. */
  constructor(
    /** Names the limit in stats and logs; Ferry's control plane names one per mesh route. */
    readonly statPrefix: string,
    /** The status of a limited request's response. */
    readonly status: number,
    readonly bucket: TokenBucket,
    private readonly enabled: Fraction,
    private readonly enforced: Fraction,
  ) {}

  /**
   * Whether a request at time `now` (ms, the clock the limiter was compiled with) may pass.
   * `random` in [0, 1) is read only when enabled or enforced is a partial share.
   * Allocation-free.
   */
  allow(now: number, random: () => number): boolean {
    if (!sample(this.enabled, random)) return true;
    if (this.bucket.tryTake(now)) return true;
    return !sample(this.enforced, random);
  }
}

/** Whether this request is in the share; rolls only for a share strictly between 0 and all. */
function sample(f: Fraction, random: () => number): boolean {
  if (f.numerator >= f.denominator) return true;
  if (f.numerator === 0) return false;
  return inFraction(f, random());
}

function runtimeFraction(r: envoy.RuntimeFractionalPercent | undefined, field: string): Fraction {
  return r === undefined ? NEVER : compileFraction(r.default_value, `${field}.default_value`);
}

function fillIntervalMs(d: envoy.Duration | undefined, field: string): number {
  const ms = durationMs(d);
  if (ms === undefined) throw new FilterConfigError(field, 'is required');
  // NaN (malformed) fails the comparison too.
  if (!(ms >= MIN_FILL_INTERVAL_MS)) {
    throw new FilterConfigError(field, `must be at least ${MIN_FILL_INTERVAL_MS}ms`);
  }
  return ms;
}

function positiveInteger(v: number | undefined, field: string, fallback?: number): number {
  const n = v ?? fallback;
  if (n === undefined) throw new FilterConfigError(field, 'is required');
  if (!Number.isInteger(n) || n < 1) {
    throw new FilterConfigError(field, `must be a whole number > 0, not ${n}`);
  }
  return n;
}

/**
 * Compiles a LocalRateLimit (a filter's typed_config, or a route's typed_per_filter_config,
 * possibly wrapped in a FilterConfig) into a limiter with a full bucket at time `now`, or
 * undefined when the config has no token bucket (nothing to limit at that level). Throws
 * FilterConfigError naming the bad field.
 */
export function compileLocalRateLimit(
  config: FilterTypedConfig<envoy.LocalRateLimit>,
  now: number,
): LocalRateLimiter | undefined {
  const found = filterMessage<envoy.LocalRateLimit>(
    config,
    types.LOCAL_RATE_LIMIT,
    'LocalRateLimit',
  );
  if (!found) return undefined;
  const { message: c, field } = found;
  for (const key of UNSUPPORTED) {
    const v = c[key];
    if (v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0)) {
      throw new FilterConfigError(`${field}.${key}`, 'is not supported by Ferry');
    }
  }
  if (!c.stat_prefix) throw new FilterConfigError(`${field}.stat_prefix`, 'is required');
  const tb = c.token_bucket;
  if (tb === undefined) return undefined;
  const at = `${field}.token_bucket`;
  const bucket = new TokenBucket(
    positiveInteger(tb.max_tokens, `${at}.max_tokens`),
    positiveInteger(tb.tokens_per_fill?.value, `${at}.tokens_per_fill`, 1),
    fillIntervalMs(tb.fill_interval, `${at}.fill_interval`),
    now,
  );
  return new LocalRateLimiter(
    c.stat_prefix,
    limitedStatus(c.status?.code),
    bucket,
    runtimeFraction(c.filter_enabled, `${field}.filter_enabled`),
    runtimeFraction(c.filter_enforced, `${field}.filter_enforced`),
  );
}
