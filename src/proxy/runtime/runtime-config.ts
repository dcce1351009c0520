/**
 * The compiled configuration the data path runs on: route tables for the outbound and
 * inbound listeners and runtime clusters, built once per xDS update and swapped in whole.
 * Pieces whose resources did not change are reused from the previous build.
 */
import { type envoy, types, unpackAny } from '../../xds/index.js';
import type { ProxyConfig, ResourceEntry } from '../../xds-client/index.js';
import {
  buildCluster,
  type ClusterResource,
  connectTimeoutMs,
  edsName,
  type OutlierLog,
  parseHealthCheck,
  type RuntimeCluster,
} from '../cluster/index.js';
import { checkRouteFilters, type RouteView } from '../http/index.js';
import { formatLbError, type Host, HostSet, parseClusterLb } from '../lb/index.js';
import { compileLocalRateLimit, type LocalRateLimiter } from '../ratelimit/index.js';
import { compileRouteTable, type RouteTable } from '../router/index.js';
import { type SecureContextSource, spiffeVerifier } from '../tls/index.js';
import {
  compileInboundPolicy,
  compileUpstreamTls,
  type InboundPolicy,
  type UpstreamTlsSettings,
} from '../tls-policy/index.js';
import type { UpstreamTls } from '../upstream/index.js';
import { type ListenerTelemetrySpec, readListenerTelemetry } from './listener-telemetry.js';
import {
  compileOutboundDestinations,
  NO_DESTINATIONS,
  type OutboundDestinations,
  tcpIdleTimeoutMs,
} from './outbound-destinations.js';

export const { VIRTUAL_OUTBOUND, VIRTUAL_INBOUND } = types;
const HCM = types.HTTP_CONNECTION_MANAGER;

export interface RuntimeConfig {
  readonly version: number;
  readonly outbound: RouteView;
  readonly inbound: RouteView;
  readonly clusters: ReadonlyMap<string, RuntimeCluster>;
  /** The xDS resources it was built from (for /config_dump). */
  readonly source: ProxyConfig;
  /** Route tables by route configuration name, with the version they were built from. */
  readonly tables: ReadonlyMap<string, { readonly version: string; readonly table: RouteTable }>;
  /** The inbound listener's ports: mTLS mode and authorization (RBAC). */
  readonly inboundPolicy: InboundPolicy | undefined;
  /** For a tcp service: where the inbound listener's tcp_proxy sends connections. */
  readonly inboundTcp: TcpRoute | undefined;
  /** The inbound listener's local rate limit, with the JSON it was compiled from. */
  readonly inboundLimit: { readonly key: string; readonly limiter: LocalRateLimiter } | undefined;
  /** What each listener's configuration says about traces and access logs. */
  readonly telemetry: {
    readonly outbound: ListenerTelemetrySpec;
    readonly inbound: ListenerTelemetrySpec;
  };
  /** The outbound listener's chains, by a connection's original destination. */
  readonly outboundDestinations: OutboundDestinations;
  /** ORIGINAL_DST clusters (passthrough, meshed endpoints by address), by name. */
  readonly originalDst: ReadonlyMap<string, OriginalDstCluster>;
}

/** A listener's telemetry (config time); `clusters` resolves a collector named by cluster. */
function listenerTelemetry(
  listener: object | undefined,
  clusters?: ProxyConfig['clusters'],
): ListenerTelemetrySpec {
  return readListenerTelemetry(
    networkFilters(listener),
    (listener as envoy.Listener | undefined)?.metadata,
    clusters,
  );
}

/** A cluster whose one host is each connection's original destination. */
export interface OriginalDstCluster {
  readonly name: string;
  readonly connectTimeoutMs: number;
  /** mTLS to the destination (from the cluster's transport socket); plaintext when absent. */
  readonly tls: UpstreamTls | undefined;
}

const isOriginalDst = (cluster: { readonly type?: unknown }) =>
  cluster.type === 'ORIGINAL_DST' || cluster.type === 4;

/**
 * The network filters of a listener's chains, in order (config time only); with `defaultOnly`,
 * of the chains without a filter_chain_match.
 */
function* networkFilters(listener: object | undefined, defaultOnly = false): Generator<envoy.Any> {
  for (const chain of (listener as envoy.Listener | undefined)?.filter_chains ?? []) {
    const match = chain.filter_chain_match;
    if (defaultOnly && match && Object.keys(match).length > 0) continue;
    for (const f of chain.filters ?? []) if (f.typed_config) yield f.typed_config;
  }
}

/** The local_ratelimit config of a listener's HTTP connection manager, if it has one. */
function listenerRateLimit(listener: object | undefined): object | undefined {
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

/** The consumer-side validation the xDS client runs before ACKing (NACK on error). */
export function validateResource(typeUrl: string, name: string, value: object): string | undefined {
  const tlsError = validateTls(typeUrl, name, value);
  if (tlsError) return tlsError;
  if (typeUrl === types.ROUTE) {
    const r = compileRouteTable(value as envoy.RouteConfiguration);
    return r.ok ? undefined : r.error;
  }
  if (typeUrl === types.CLUSTER) {
    // An ORIGINAL_DST cluster has no balancer of its own (CLUSTER_PROVIDED).
    if (isOriginalDst(value)) return undefined;
    const r = parseClusterLb(value as envoy.Cluster);
    return r.ok ? undefined : r.errors.map(formatLbError).join('; ');
  }
  if (typeUrl === types.ENDPOINT) {
    const r = new HostSet(name).update(value as envoy.ClusterLoadAssignment);
    return r.ok ? undefined : r.errors.map(formatLbError).join('; ');
  }
  return undefined;
}

/** TLS settings the data path cannot follow are refused (NACKed) rather than ignored. */
function validateTls(typeUrl: string, name: string, value: object): string | undefined {
  try {
    if (typeUrl === types.ROUTE) {
      const e = checkRouteFilters(value as Parameters<typeof checkRouteFilters>[0]);
      if (e) return e;
    }
    if (typeUrl === types.LISTENER) {
      const limit = listenerRateLimit(value);
      if (limit) compileLocalRateLimit(limit as never, 0);
      listenerTelemetry(value);
    }
    if (typeUrl === types.CLUSTER) {
      compileUpstreamTls(value as envoy.Cluster);
      parseHealthCheck(value as ClusterResource);
    } else if (typeUrl === types.LISTENER) {
      // The outbound listener's chains match on destinations, not on TLS.
      if (name === VIRTUAL_OUTBOUND) compileOutboundDestinations(value);
      else compileInboundPolicy(value as envoy.Listener);
    }
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** The workload's context and a SPIFFE check of the peer, as the settings say. */
function upstreamTls(
  settings: UpstreamTlsSettings,
  certificates: SecureContextSource,
): UpstreamTls {
  return {
    context: () => certificates.context(),
    verify: spiffeVerifier(settings.allowedSans),
    ...(settings.sni ? { servername: settings.sni } : {}),
  };
}

/**
 * mTLS per host of a cluster: for each host whose endpoint metadata matches one of the
 * cluster's transport_socket_matches, the workload's context and a SPIFFE check of the peer.
 */
function hostTlsOf(
  resource: envoy.Cluster,
  hosts: readonly Host[],
  certificates: SecureContextSource,
): ReadonlyMap<Host, UpstreamTls> | undefined {
  const policy = compileUpstreamTls(resource);
  if (policy.plaintextOnly) return undefined;
  const bySettings = new Map<UpstreamTlsSettings, UpstreamTls>();
  const out = new Map<Host, UpstreamTls>();
  for (const host of hosts) {
    const settings = policy.forEndpoint(host.metadata as envoy.Metadata | undefined);
    if (!settings) continue;
    let tls = bySettings.get(settings);
    if (!tls) {
      tls = upstreamTls(settings, certificates);
      bySettings.set(settings, tls);
    }
    out.set(host, tls);
  }
  return out;
}

/** An ORIGINAL_DST cluster: its connect timeout, and its TLS when the workload has a certificate. */
function originalDstCluster(
  resource: ClusterResource,
  certificates: SecureContextSource | undefined,
): OriginalDstCluster {
  const settings = certificates
    ? compileUpstreamTls(resource as envoy.Cluster).forEndpoint(undefined)
    : undefined;
  return {
    name: resource.name,
    connectTimeoutMs: connectTimeoutMs(resource),
    tls: settings && certificates ? upstreamTls(settings, certificates) : undefined,
  };
}

export type CompileResult =
  | { readonly ok: true; readonly config: RuntimeConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

export function compileRuntime(
  source: ProxyConfig,
  previous: RuntimeConfig | undefined,
  random: () => number,
  /** The workload's certificate; without one, every upstream is plaintext. */
  certificates?: SecureContextSource,
  /** The inbound listener's port (the port RBAC's destination_port sees). */
  inboundPort = 0,
  /** Where outlier ejections are reported. */
  outlierLog?: OutlierLog,
): CompileResult {
  const errors: string[] = [];
  const tables = new Map<string, { version: string; table: RouteTable }>();
  for (const [name, entry] of source.routes) {
    const before = previous?.tables.get(name);
    if (before && before.version === entry.version) {
      tables.set(name, before);
      continue;
    }
    const r = compileRouteTable(entry.value as envoy.RouteConfiguration);
    if (r.ok) tables.set(name, { version: entry.version, table: r.table });
    else errors.push(r.error);
  }
  const clusters = new Map<string, RuntimeCluster>();
  const originalDst = new Map<string, OriginalDstCluster>();
  for (const [name, entry] of source.clusters) {
    const resource = entry.value as unknown as ClusterResource;
    if (isOriginalDst(resource)) {
      try {
        originalDst.set(name, originalDstCluster(resource, certificates));
      } catch (err) {
        errors.push(`cluster ${name}: ${(err as Error).message}`);
      }
      continue;
    }
    const assignment: ResourceEntry | undefined =
      resource.type === 'EDS' ? source.endpoints.get(edsName(resource)) : undefined;
    const built = buildCluster(
      resource,
      assignment?.value as envoy.ClusterLoadAssignment | undefined,
      previous?.clusters.get(name),
      random,
      outlierLog,
    );
    if (!built.ok) {
      errors.push(`cluster ${name}: ${built.error}`);
      continue;
    }
    try {
      const hostTls = certificates
        ? hostTlsOf(entry.value as envoy.Cluster, built.cluster.hostSet.hosts, certificates)
        : undefined;
      // Set on the built object, not on a copy: outlier ejections and health checks rebuild
      // the balancer of that object, and the data path must read the same one.
      clusters.set(name, hostTls ? Object.assign(built.cluster, { hostTls }) : built.cluster);
    } catch (err) {
      errors.push(`cluster ${name}: ${(err as Error).message}`);
    }
  }
  let inboundPolicy: InboundPolicy | undefined;
  const inboundListener = source.listeners.get(VIRTUAL_INBOUND)?.value;
  const outboundListener = source.listeners.get(VIRTUAL_OUTBOUND)?.value;
  let telemetry: RuntimeConfig['telemetry'] = { outbound: {}, inbound: {} };
  try {
    telemetry = {
      outbound: listenerTelemetry(outboundListener, source.clusters),
      inbound: listenerTelemetry(inboundListener, source.clusters),
    };
  } catch (err) {
    errors.push(`telemetry: ${(err as Error).message}`);
  }
  if (inboundListener) {
    try {
      inboundPolicy = compileInboundPolicy(inboundListener as envoy.Listener);
    } catch (err) {
      errors.push(`listener ${VIRTUAL_INBOUND}: ${(err as Error).message}`);
    }
  }
  let outboundDestinations = NO_DESTINATIONS;
  if (outboundListener) {
    try {
      outboundDestinations = compileOutboundDestinations(outboundListener);
    } catch (err) {
      errors.push(`listener ${VIRTUAL_OUTBOUND}: ${(err as Error).message}`);
    }
  }
  if (errors.length) return { ok: false, errors };
  const inboundRbac = inboundPolicy?.forPort(inboundPort)?.httpRbac;
  // The inbound rate limit keeps its bucket across updates that do not change it.
  let inboundLimit: RuntimeConfig['inboundLimit'];
  const limitConfig = listenerRateLimit(inboundListener);
  if (limitConfig) {
    const key = JSON.stringify(limitConfig);
    const before = previous?.inboundLimit;
    const limiter =
      before?.key === key
        ? before.limiter
        : compileLocalRateLimit(limitConfig as never, performance.now());
    if (limiter) inboundLimit = { key, limiter };
  }
  const tableOf = (listener: string) => {
    const rds = listenerRouteName(source.listeners.get(listener)?.value);
    return rds === undefined ? undefined : tables.get(rds)?.table;
  };
  return {
    ok: true,
    config: {
      version: source.version,
      outbound: { table: tableOf(VIRTUAL_OUTBOUND), clusters },
      inbound: {
        table: tableOf(VIRTUAL_INBOUND),
        clusters,
        ...(inboundRbac && !inboundRbac.empty ? { rbac: inboundRbac, port: inboundPort } : {}),
        ...(inboundLimit ? { rateLimit: inboundLimit.limiter } : {}),
      },
      clusters,
      source,
      tables,
      inboundPolicy,
      inboundTcp: listenerTcpRoute(inboundListener),
      inboundLimit,
      telemetry,
      outboundDestinations,
      originalDst,
    },
  };
}
