/**
 * The fields of Envoy's HTTP fault filter config the compiler reads, in the object form Ferry
 * decodes xDS into (snake_case names, enums as strings or numbers, int64 as number or string,
 * Any as `@type`). Every field is optional: proto3 leaves defaults out. Fields listed but not
 * supported are there so the compiler can name them when it refuses them.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/fault/v3/fault.proto
 */
import type { FractionalPercentLike, HeaderMatcherLike } from '../router/index.js';

export type { FractionalPercentLike };

/** google.protobuf.Duration. */
export interface DurationLike {
  readonly seconds?: number | string;
  readonly nanos?: number;
}

/** envoy.extensions.filters.common.fault.v3.FaultDelay. */
export interface FaultDelayLike {
  readonly fixed_delay?: DurationLike;
  readonly header_delay?: object;
  readonly percentage?: FractionalPercentLike;
}

/** envoy.extensions.filters.http.fault.v3.FaultAbort. */
export interface FaultAbortLike {
  readonly http_status?: number;
  readonly grpc_status?: number;
  readonly header_abort?: object;
  readonly percentage?: FractionalPercentLike;
}

/** envoy.extensions.filters.http.fault.v3.HTTPFault (the runtime keys are not read). */
export interface HttpFaultLike {
  readonly '@type'?: string;
  readonly delay?: FaultDelayLike;
  readonly abort?: FaultAbortLike;
  readonly upstream_cluster?: string;
  readonly headers?: readonly HeaderMatcherLike[];
  readonly downstream_nodes?: readonly string[];
  readonly max_active_faults?: { readonly value?: number };
  readonly response_rate_limit?: object;
  readonly disable_downstream_cluster_stats?: boolean;
  readonly filter_metadata?: object;
}

/** envoy.config.route.v3.FilterConfig: how a per-route config may be wrapped. */
export interface FilterConfigLike {
  readonly '@type'?: string;
  readonly config?: { readonly '@type'?: string };
  readonly is_optional?: boolean;
  readonly disabled?: boolean;
}
