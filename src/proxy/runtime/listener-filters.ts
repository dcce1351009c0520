/**
 * What a listener's network filters say, read when the listener is compiled: the route
 * configuration its HTTP connection manager fetches, the target of its tcp_proxy, and its
 * HTTP local rate limit.
 */
import { type envoy, types, unpackAny } from '../../xds/index.js';
import { tcpIdleTimeoutMs } from './outbound-destinations.js';

const HCM = types.HTTP_CONNECTION_MANAGER;

/**
 * The network filters of a listener's chains, in order; with `defaultOnly`, of the chains
 * without a filter_chain_match.
 */
export function* networkFilters(
  listener: object | undefined,
  defaultOnly = false,
): Generator<envoy.Any> {
  for (const chain of (listener as envoy.Listener | undefined)?.filter_chains ?? []) {
    const match = chain.filter_chain_match;
    if (defaultOnly && match && Object.keys(match).length > 0) continue;
    for (const f of chain.filters ?? []) if (f.typed_config) yield f.typed_config;
  }
}

/** The local_ratelimit config of a listener's HTTP connection manager, if it has one. */
export function listenerRateLimit(listener: object | undefined): envoy.LocalRateLimit | undefined {
  for (const t of networkFilters(listener)) {
    const hcm = unpackAny<envoy.HttpConnectionManager>(t, HCM);
    for (const h of hcm?.http_filters ?? []) {
      const limit = unpackAny<envoy.LocalRateLimit>(h.typed_config, types.LOCAL_RATE_LIMIT);
      if (limit) return limit;
    }
  }
  return undefined;
}

/** A tcp_proxy filter's target. */
export interface TcpRoute {
  readonly cluster: string;
  /** undefined: not set in xDS (the sidecar's default applies). */
  readonly idleTimeoutMs: number | undefined;
}

/** The first tcp_proxy of a listener's filter chains, if any. */
export function listenerTcpRoute(listener: object | undefined): TcpRoute | undefined {
  for (const t of networkFilters(listener)) {
    const tcp = unpackAny<envoy.TcpProxy>(t, types.TCP_PROXY);
    if (!tcp?.cluster) continue;
    return { cluster: tcp.cluster, idleTimeoutMs: tcpIdleTimeoutMs(tcp.idle_timeout) };
  }
  return undefined;
}

/**
 * The RDS name of a listener's HTTP filter chain: the one without a match, else the first
 * (the outbound listener's HTTP chains all name the namespace's route configuration).
 */
export function listenerRouteName(listener: object | undefined): string | undefined {
  for (const t of networkFilters(listener, true)) {
    const hcm = unpackAny<envoy.HttpConnectionManager>(t, HCM);
    if (hcm) return hcm.rds?.route_config_name;
  }
  for (const t of networkFilters(listener)) {
    const hcm = unpackAny<envoy.HttpConnectionManager>(t, HCM);
    if (hcm) return hcm.rds?.route_config_name;
  }
  return undefined;
}
