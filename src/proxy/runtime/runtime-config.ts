/**
 * The compiled configuration the data path runs on: route tables for the outbound and
 * inbound listeners and runtime clusters, assembled once per xDS update from the compiled
 * form each resource got when it arrived (resource-compiler.ts), and swapped in whole.
 * Assembling compiles nothing and cannot fail: whatever could fail was NACKed. Stateful
 * pieces (hosts, breakers, outlier detection, health checks) carry over from the previous
 * configuration.
 */
import { type envoy, types } from '../../xds/index.js';
import type { ProxyConfig, ResourceEntry } from '../../xds-client/index.js';
import { assembleCluster, type OutlierLog, type RuntimeCluster } from '../cluster/index.js';
import { RouteFilters, type RouteView } from '../http/index.js';
import type { Host, ParsedAssignment } from '../lb/index.js';
import type { LocalRateLimiter } from '../ratelimit/index.js';
import type { RouteTable } from '../router/index.js';
import { type SecureContextSource, spiffeVerifier } from '../tls/index.js';
import type { InboundPolicy, UpstreamTlsPolicy, UpstreamTlsSettings } from '../tls-policy/index.js';
import type { UpstreamTls } from '../upstream/index.js';
import type { TcpRoute } from './listener-filters.js';
import { type ListenerTelemetrySpec, resolveCollector } from './listener-telemetry.js';
import { NO_DESTINATIONS, type OutboundDestinations } from './outbound-destinations.js';
import type { CompiledCluster, CompiledListener, CompiledRoutes } from './resource-compiler.js';

export const { VIRTUAL_OUTBOUND, VIRTUAL_INBOUND } = types;

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

/** A cluster whose one host is each connection's original destination. */
export interface OriginalDstCluster {
  readonly name: string;
  readonly connectTimeoutMs: number;
  /** mTLS to the destination (from the cluster's transport socket); plaintext when absent. */
  readonly tls: UpstreamTls | undefined;
}

/** The compiled form the xDS client kept with a resource (the sidecar's compile hook made it). */
function compiledOf<T>(entry: ResourceEntry, what: string): T {
  if (entry.compiled === undefined) {
    throw new Error(`${what} "${entry.name}" reached the runtime without its compiled form`);
  }
  return entry.compiled as T;
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
    identity: `${settings.sni ?? ''} ${settings.allowedSans.join(' ')}`,
  };
}

/**
 * mTLS per host of a cluster: for each host whose endpoint metadata matches one of the
 * cluster's transport_socket_matches, the workload's context and a SPIFFE check of the peer.
 */
function hostTlsOf(
  policy: UpstreamTlsPolicy,
  hosts: readonly Host[],
  certificates: SecureContextSource,
): ReadonlyMap<Host, UpstreamTls> | undefined {
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

/** The host:port of a balanced cluster's first inline endpoint (a collector's address). */
function firstInlineAddress(cluster: CompiledCluster | undefined): string | undefined {
  if (cluster?.kind !== 'balanced') return undefined;
  const e = cluster.settings.inlineAssignment?.localities[0]?.endpoints[0];
  if (!e) return undefined;
  return `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`;
}

export interface Assembled {
  readonly config: RuntimeConfig;
  /** What was accepted alone but does not fit together (degraded, not refused). */
  readonly warnings: readonly string[];
}

/** Assembles the runtime configuration from the compiled resources of `source`. */
export function assembleRuntime(
  source: ProxyConfig,
  previous: RuntimeConfig | undefined,
  random: () => number,
  /** The workload's certificate; without one, every upstream is plaintext. */
  certificates?: SecureContextSource,
  /** The inbound listener's port (the port RBAC's destination_port sees). */
  inboundPort = 0,
  /** Where outlier ejections are reported. */
  outlierLog?: OutlierLog,
): Assembled {
  const warnings: string[] = [];
  const tables = new Map<string, { version: string; table: RouteTable }>();
  const filters = new Map<string, RouteFilters>();
  for (const [name, entry] of source.routes) {
    const compiled = compiledOf<CompiledRoutes>(entry, 'route configuration');
    tables.set(name, { version: entry.version, table: compiled.table });
    filters.set(name, compiled.filters);
  }
  const compiledClusters = new Map<string, CompiledCluster>();
  const clusters = new Map<string, RuntimeCluster>();
  const originalDst = new Map<string, OriginalDstCluster>();
  for (const [name, entry] of source.clusters) {
    const compiled = compiledOf<CompiledCluster>(entry, 'cluster');
    compiledClusters.set(name, compiled);
    if (compiled.kind === 'original-dst') {
      const settings = certificates ? compiled.tls.forEndpoint(undefined) : undefined;
      originalDst.set(name, {
        name: compiled.name,
        connectTimeoutMs: compiled.connectTimeoutMs,
        tls: settings && certificates ? upstreamTls(settings, certificates) : undefined,
      });
      continue;
    }
    const edsName = compiled.settings.edsName;
    const cla = edsName === undefined ? undefined : source.endpoints.get(edsName);
    const assignment = cla && compiledOf<ParsedAssignment>(cla, 'assignment');
    const cluster = assembleCluster(
      compiled.settings,
      assignment,
      previous?.clusters.get(name),
      random,
      outlierLog,
    );
    const hostTls = certificates
      ? hostTlsOf(compiled.tls, cluster.hostSet.hosts, certificates)
      : undefined;
    // Set on the built object, not on a copy: outlier ejections and health checks rebuild
    // the balancer of that object, and the data path must read the same one.
    clusters.set(name, hostTls ? Object.assign(cluster, { hostTls }) : cluster);
  }
  const listenerOf = (name: string) => {
    const entry = source.listeners.get(name);
    return entry && compiledOf<CompiledListener>(entry, 'listener');
  };
  const inbound = listenerOf(VIRTUAL_INBOUND);
  const outbound = listenerOf(VIRTUAL_OUTBOUND);
  const telemetryOf = (listener: CompiledListener | undefined, name: string) => {
    const r = resolveCollector(listener?.telemetry ?? {}, (cluster) =>
      firstInlineAddress(compiledClusters.get(cluster)),
    );
    if (r.warning) warnings.push(`listener ${name}: ${r.warning}`);
    return r.spec;
  };
  const telemetry = {
    outbound: telemetryOf(outbound, VIRTUAL_OUTBOUND),
    inbound: telemetryOf(inbound, VIRTUAL_INBOUND),
  };
  const inboundPolicy = inbound?.inboundPolicy;
  const inboundRbac = inboundPolicy?.forPort(inboundPort)?.httpRbac;
  const inboundLimit = inbound?.limit;
  const viewOf = (listener: CompiledListener | undefined) => {
    const rds = listener?.routeName;
    return {
      table: rds === undefined ? undefined : tables.get(rds)?.table,
      clusters,
      filters: (rds === undefined ? undefined : filters.get(rds)) ?? RouteFilters.EMPTY,
    };
  };
  return {
    warnings,
    config: {
      version: source.version,
      outbound: viewOf(outbound),
      inbound: {
        ...viewOf(inbound),
        ...(inboundRbac && !inboundRbac.empty ? { rbac: inboundRbac, port: inboundPort } : {}),
        ...(inboundLimit ? { rateLimit: inboundLimit.limiter } : {}),
      },
      clusters,
      source,
      tables,
      inboundPolicy,
      inboundTcp: inbound?.tcp,
      inboundLimit,
      telemetry,
      outboundDestinations: outbound?.outboundDestinations ?? NO_DESTINATIONS,
      originalDst,
    },
  };
}
