/**
 * The fields of Envoy's Cluster and ClusterLoadAssignment that load balancing reads, in the
 * object form Ferry decodes xDS into (snake_case proto names, enums as strings, wrappers as
 * `{ value }`, 64-bit integers as numbers). Only what this folder reads is declared.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/endpoint/v3/endpoint.proto
 */

/** google.protobuf.UInt32Value. */
export interface UInt32Value {
  readonly value?: number;
}

/** google.protobuf.UInt64Value; decoders differ in how they render 64-bit integers. */
export interface UInt64Value {
  readonly value?: number | string | bigint;
}

/** envoy.type.v3.Percent: a double in [0, 100]. */
export interface PercentValue {
  readonly value?: number;
}

/** envoy.config.core.v3.RuntimeDouble: only the default is used (Ferry has no runtime layer). */
export interface RuntimeDouble {
  readonly default_value?: number;
  readonly runtime_key?: string;
}

/** The load-balancing part of a Cluster. */
export interface ClusterLbConfig {
  readonly name?: string;
  /** An Envoy `Cluster.LbPolicy` name; absent means ROUND_ROBIN (the proto default). */
  readonly lb_policy?: string | number;
  readonly ring_hash_lb_config?: {
    readonly minimum_ring_size?: UInt64Value;
    readonly maximum_ring_size?: UInt64Value;
    readonly hash_function?: string | number;
  };
  readonly maglev_lb_config?: {
    readonly table_size?: UInt64Value;
  };
  readonly least_request_lb_config?: {
    readonly choice_count?: UInt32Value;
    readonly active_request_bias?: RuntimeDouble;
    readonly slow_start_config?: object;
  };
  readonly round_robin_lb_config?: {
    readonly slow_start_config?: object;
  };
  readonly common_lb_config?: {
    readonly healthy_panic_threshold?: PercentValue;
    readonly locality_weighted_lb_config?: object;
    readonly zone_aware_lb_config?: object;
    readonly consistent_hashing_lb_config?: object;
  };
  /** The typed-extension form of lb policy; not supported here. */
  readonly load_balancing_policy?: object;
}

export interface SocketAddress {
  readonly address?: string;
  readonly port_value?: number;
  readonly named_port?: string;
}

export interface LbEndpoint {
  readonly endpoint?: {
    readonly address?: { readonly socket_address?: SocketAddress; readonly pipe?: object };
    readonly hostname?: string;
  };
  /** An envoy.config.core.v3.HealthStatus name (or its number); absent means UNKNOWN. */
  readonly health_status?: string | number;
  readonly load_balancing_weight?: UInt32Value;
  /** Endpoint metadata (e.g. the transport socket match that marks a meshed endpoint). */
  readonly metadata?: object;
}

export interface LocalityLbEndpoints {
  readonly locality?: {
    readonly region?: string;
    readonly zone?: string;
    readonly sub_zone?: string;
  };
  readonly lb_endpoints?: readonly LbEndpoint[];
  readonly load_balancing_weight?: UInt32Value;
  readonly priority?: number;
}

export interface ClusterLoadAssignment {
  readonly cluster_name?: string;
  readonly endpoints?: readonly LocalityLbEndpoints[];
  readonly policy?: {
    /** Percent, default 140 (Envoy's overprovisioning factor 1.4). */
    readonly overprovisioning_factor?: UInt32Value;
    readonly drop_overloads?: readonly object[];
  };
}

/**
 * A wrapped unsigned integer as a number, or undefined when absent. NaN when present but not a
 * non-negative safe integer, so callers report it.
 */
export function wrappedUint(w: UInt32Value | UInt64Value | undefined): number | undefined {
  if (w === undefined || w === null || w.value === undefined || w.value === null) return undefined;
  const v = w.value;
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(String(v));
  return Number.isSafeInteger(n) && n >= 0 ? n : Number.NaN;
}
