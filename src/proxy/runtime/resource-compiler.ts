/**
 * Each xDS resource compiled once, when it arrives, into what the data path runs on: a
 * route configuration into its route table and per-route filters, a cluster into its
 * balancer plan, breakers, outlier and health-check settings and upstream TLS policy, an
 * assignment into its validated hosts, a listener into its routes' name, tcp_proxy target,
 * inbound policy or outbound destinations, rate limit and telemetry. A resource that does
 * not compile is NACKed with the reason (the xDS client's compile hook); the xDS client
 * keeps the compiled form with the resource until its bytes change, and the runtime
 * configuration is assembled from these forms only (runtime-config.ts).
 * This is what grpc-js-xds's per-type validators do (`{name, value}` or `{name, error}`).
 */
import { type envoy, types } from '../../xds/index.js';
import type { CompileOutcome } from '../../xds-client/index.js';
import {
  type ClusterResource,
  type ClusterSettings,
  compileClusterSettings,
  connectTimeoutMs,
} from '../cluster/index.js';
import { RouteFilters } from '../http/index.js';
import { formatLbError, type ParsedAssignment, parseAssignment } from '../lb/index.js';
import { compileLocalRateLimit, type LocalRateLimiter } from '../ratelimit/index.js';
import { compileRouteTable, type RouteTable } from '../router/index.js';
import {
  compileInboundPolicy,
  compileUpstreamTls,
  type InboundPolicy,
  type UpstreamTlsPolicy,
} from '../tls-policy/index.js';
import {
  listenerRateLimit,
  listenerRouteName,
  listenerTcpRoute,
  networkFilters,
  type TcpRoute,
} from './listener-filters.js';
import { type ListenerTelemetrySpec, readListenerTelemetry } from './listener-telemetry.js';
import { compileOutboundDestinations, type OutboundDestinations } from './outbound-destinations.js';

/** A RouteConfiguration, compiled. */
export interface CompiledRoutes {
  readonly table: RouteTable;
  readonly filters: RouteFilters;
}

/** A Cluster, compiled: balanced (its settings) or ORIGINAL_DST (one host per connection). */
export type CompiledCluster =
  | {
      readonly kind: 'balanced';
      readonly settings: ClusterSettings;
      readonly tls: UpstreamTlsPolicy;
    }
  | {
      readonly kind: 'original-dst';
      readonly name: string;
      readonly connectTimeoutMs: number;
      readonly tls: UpstreamTlsPolicy;
    };

/** A listener's rate limit, with the JSON it was compiled from (to keep its bucket). */
export interface ListenerLimit {
  readonly key: string;
  readonly limiter: LocalRateLimiter;
}

/** A Listener, compiled. */
export interface CompiledListener {
  /** The RDS name of its HTTP filter chain. */
  readonly routeName: string | undefined;
  readonly tcp: TcpRoute | undefined;
  /** Any listener but the outbound one: its ports' mTLS mode and authorization. */
  readonly inboundPolicy: InboundPolicy | undefined;
  /** The outbound listener: its chains by original destination. */
  readonly outboundDestinations: OutboundDestinations | undefined;
  readonly limit: ListenerLimit | undefined;
  readonly telemetry: ListenerTelemetrySpec;
}

/** How many times each kind of thing was compiled (a resource version is compiled once). */
export interface CompileCounts {
  listeners: number;
  routes: number;
  clusters: number;
  endpoints: number;
  /** Per-route filter configs (fault, rate limit), compiled with their route tables. */
  routeFilters: number;
}

const isOriginalDst = (cluster: { readonly type?: unknown }) =>
  cluster.type === 'ORIGINAL_DST' || cluster.type === 4;

function failure(err: unknown): CompileOutcome {
  return { ok: false, error: (err as Error).message };
}

/** The sidecar's compile hook for the xDS client, and its counts. */
export class ResourceCompiler {
  readonly counts: CompileCounts = {
    listeners: 0,
    routes: 0,
    clusters: 0,
    endpoints: 0,
    routeFilters: 0,
  };

  /** `now`: the clock rate-limit buckets start from. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The xDS client's compile hook. */
  readonly compile = (
    typeUrl: string,
    name: string,
    value: object,
    previous: unknown,
  ): CompileOutcome => {
    switch (typeUrl) {
      case types.LISTENER:
        this.counts.listeners++;
        return this.listener(name, value, previous as CompiledListener | undefined);
      case types.ROUTE:
        this.counts.routes++;
        return this.routes(value, previous as CompiledRoutes | undefined);
      case types.CLUSTER:
        this.counts.clusters++;
        return this.cluster(value as ClusterResource);
      case types.ENDPOINT:
        this.counts.endpoints++;
        return this.endpoints(name, value as envoy.ClusterLoadAssignment);
      default:
        return { ok: true, compiled: undefined };
    }
  };

  private routes(value: object, previous: CompiledRoutes | undefined): CompileOutcome {
    const table = compileRouteTable(value as envoy.RouteConfiguration);
    if (!table.ok) return { ok: false, error: table.error };
    const filters = RouteFilters.compile(table.table, this.now(), previous?.filters);
    if (!filters.ok) {
      const rc = JSON.stringify((value as envoy.RouteConfiguration).name ?? '');
      return { ok: false, error: `route configuration ${rc}: ${filters.error}` };
    }
    this.counts.routeFilters += filters.filters.compiled;
    const compiled: CompiledRoutes = { table: table.table, filters: filters.filters };
    return { ok: true, compiled: Object.freeze(compiled) };
  }

  private cluster(resource: ClusterResource): CompileOutcome {
    let tls: UpstreamTlsPolicy;
    try {
      // TLS settings the data path cannot follow are refused rather than ignored.
      tls = compileUpstreamTls(resource);
    } catch (err) {
      return failure(err);
    }
    if (isOriginalDst(resource)) {
      // An ORIGINAL_DST cluster has no balancer of its own (CLUSTER_PROVIDED).
      const compiled: CompiledCluster = {
        kind: 'original-dst',
        name: resource.name,
        connectTimeoutMs: connectTimeoutMs(resource),
        tls,
      };
      return { ok: true, compiled: Object.freeze(compiled) };
    }
    const settings = compileClusterSettings(resource);
    if (!settings.ok) return settings;
    const compiled: CompiledCluster = { kind: 'balanced', settings: settings.value, tls };
    return { ok: true, compiled: Object.freeze(compiled) };
  }

  private endpoints(name: string, cla: envoy.ClusterLoadAssignment): CompileOutcome {
    const r = parseAssignment(cla, name);
    if (!r.ok) return { ok: false, error: r.errors.map(formatLbError).join('; ') };
    return { ok: true, compiled: r.value satisfies ParsedAssignment };
  }

  private listener(
    name: string,
    value: object,
    previous: CompiledListener | undefined,
  ): CompileOutcome {
    try {
      const limitConfig = listenerRateLimit(value);
      let limit: ListenerLimit | undefined;
      if (limitConfig) {
        // The rate limit keeps its bucket across updates that do not change it.
        const key = JSON.stringify(limitConfig);
        const limiter =
          previous?.limit?.key === key
            ? previous.limit.limiter
            : compileLocalRateLimit(limitConfig, this.now());
        if (limiter) limit = { key, limiter };
      }
      const outbound = name === types.VIRTUAL_OUTBOUND;
      const compiled: CompiledListener = {
        routeName: listenerRouteName(value),
        tcp: listenerTcpRoute(value),
        // The outbound listener's chains match on destinations, not on TLS.
        inboundPolicy: outbound ? undefined : compileInboundPolicy(value as envoy.Listener),
        outboundDestinations: outbound ? compileOutboundDestinations(value) : undefined,
        limit,
        telemetry: readListenerTelemetry(networkFilters(value), (value as envoy.Listener).metadata),
      };
      return { ok: true, compiled: Object.freeze(compiled) };
    } catch (err) {
      return failure(err);
    }
  }
}
