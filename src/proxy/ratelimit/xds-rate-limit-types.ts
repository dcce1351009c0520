/**
 * The fields of Envoy's HTTP local_ratelimit config the compiler reads, in Ferry's decoded
 * object form (snake_case, enums as strings or numbers, Any as `@type`). Fields listed but not
 * supported are there so the compiler can name them when it refuses them.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto
 */
import type { DurationLike, FractionalPercentLike } from '../fault/index.js';

/** envoy.type.v3.TokenBucket. */
export interface TokenBucketLike {
  readonly max_tokens?: number;
  readonly tokens_per_fill?: { readonly value?: number };
  readonly fill_interval?: DurationLike;
}

/** envoy.config.core.v3.RuntimeFractionalPercent (there is no runtime: the default applies). */
export interface RuntimeFractionalPercentLike {
  readonly default_value?: FractionalPercentLike;
  readonly runtime_key?: string;
}

/** envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit. */
export interface LocalRateLimitLike {
  readonly '@type'?: string;
  readonly stat_prefix?: string;
  readonly status?: { readonly code?: string | number };
  readonly token_bucket?: TokenBucketLike;
  readonly filter_enabled?: RuntimeFractionalPercentLike;
  readonly filter_enforced?: RuntimeFractionalPercentLike;
  readonly descriptors?: readonly object[];
  readonly local_cluster_rate_limit?: object;
  readonly request_headers_to_add_when_not_enforced?: readonly object[];
  readonly response_headers_to_add?: readonly object[];
  readonly stage?: number;
  readonly local_rate_limit_per_downstream_connection?: boolean;
  readonly enable_x_ratelimit_headers?: string | number;
  readonly rate_limited_as_resource_exhausted?: boolean;
}
