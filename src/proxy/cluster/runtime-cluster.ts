/**
 * A cluster as the data path uses it: its hosts (kept across updates so counters and
 * pools survive), its balancer (rebuilt at config time), and how to reach its hosts.
 */
import type { envoy } from '../../xds/index.js';
import {
  buildClusterBalancer,
  DEFAULT_OVERPROVISIONING_FACTOR,
  formatLbError,
  type Host,
  HostSet,
  type LoadBalancer,
  type ParsedAssignment,
  parseAssignment,
  type Random,
} from '../lb/index.js';
import type { UpstreamProtocol, UpstreamTls } from '../upstream/index.js';
import { CircuitBreakers } from './circuit-breakers.js';
import {
  type ClusterResource,
  type ClusterSettings,
  compileClusterSettings,
} from './cluster-settings.js';
import { HealthChecker } from './health-checker.js';
import { OutlierDetector } from './outlier-detector.js';

/** Where a cluster's ejections and returns are reported (logs, metrics). */
export interface OutlierLog {
  ejected(cluster: string, host: Host, reason: string, ms: number): void;
  returned(cluster: string, host: Host): void;
  /** Active health checking marked a host healthy or unhealthy. */
  health?(cluster: string, host: Host, healthy: boolean, reason: string): void;
}

export interface RuntimeCluster {
  readonly name: string;
  readonly hostSet: HostSet;
  /** Replaced (by outlier detection) when a host is ejected or comes back. */
  balancer: LoadBalancer;
  /** Outlier detection, when the cluster asks for it; its state outlives updates. */
  readonly outlier: OutlierDetector | undefined;
  /** Active health checking, when the cluster asks for it; its state outlives updates. */
  readonly healthChecker: HealthChecker | undefined;
  readonly policy: string;
  readonly protocol: UpstreamProtocol;
  readonly connectTimeoutMs: number;
  /** Limits on what is in flight; the state carries over from the previous build. */
  readonly breakers: CircuitBreakers;
  /** Per endpoint pool (Envoy's max_connections / max_pending_requests). */
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  /** mTLS per host, for hosts that run a sidecar (from transport_socket_matches). */
  readonly hostTls?: ReadonlyMap<Host, UpstreamTls>;
}

const NO_ENDPOINTS: ParsedAssignment = Object.freeze({
  localities: Object.freeze([]),
  overprovisioningFactor: DEFAULT_OVERPROVISIONING_FACTOR,
});

export type ClusterResult =
  | { readonly ok: true; readonly cluster: RuntimeCluster }
  | { readonly ok: false; readonly error: string };

/**
 * Builds a runtime cluster from its resource and assignment (the assignment of an EDS
 * cluster, or the inline one of a STATIC cluster), reusing `previous`'s hosts: both
 * compiled here, for a cluster that did not come through the xDS client (a derived one).
 */
export function buildCluster(
  resource: ClusterResource,
  assignment: envoy.ClusterLoadAssignment | undefined,
  previous: RuntimeCluster | undefined,
  random: Random,
  outlierLog?: OutlierLog,
): ClusterResult {
  const settings = compileClusterSettings(resource);
  if (!settings.ok) return settings;
  let parsed: ParsedAssignment | undefined;
  if (assignment) {
    const r = parseAssignment(assignment, resource.name);
    if (!r.ok) return { ok: false, error: r.errors.map(formatLbError).join('; ') };
    parsed = r.value;
  }
  return {
    ok: true,
    cluster: assembleCluster(settings.value, parsed, previous, random, outlierLog),
  };
}

/**
 * A runtime cluster from settings and an assignment compiled when they arrived (so this
 * cannot fail), reusing `previous`'s hosts, breakers, outlier detector and health checker.
 */
export function assembleCluster(
  settings: ClusterSettings,
  assignment: ParsedAssignment | undefined,
  previous: RuntimeCluster | undefined,
  random: Random,
  outlierLog?: OutlierLog,
): RuntimeCluster {
  const plan = settings.plan;
  const hostSet = previous?.hostSet ?? new HostSet(settings.name);
  hostSet.apply(assignment ?? settings.inlineAssignment ?? NO_ENDPOINTS);
  const built = buildClusterBalancer(plan, hostSet, random);
  const thresholds = settings.thresholds;
  const breakers = previous?.breakers ?? new CircuitBreakers(thresholds);
  breakers.thresholds = thresholds;
  const healthConfig = settings.healthCheck;
  const outlierConfig = settings.outlierDetection;
  let outlier = previous?.outlier;
  if (!outlierConfig) {
    outlier?.stop();
    outlier = undefined;
  }
  const cluster: RuntimeCluster = {
    name: settings.name,
    hostSet,
    balancer: built.balancer,
    outlier: undefined,
    healthChecker: undefined,
    policy: built.policy,
    protocol: settings.protocol,
    connectTimeoutMs: settings.connectTimeoutMs,
    breakers,
    maxConnections: thresholds.maxConnections,
    maxPendingRequests: thresholds.maxPendingRequests,
  };
  if (outlierConfig) {
    const name = settings.name;
    const events = {
      // An ejection or a return changes which hosts are healthy: rebuild the balancer.
      changed: () => {
        cluster.balancer = buildClusterBalancer(plan, hostSet, random).balancer;
      },
      ejected: (host: Host, reason: string, ms: number) =>
        outlierLog?.ejected(name, host, reason, ms),
      returned: (host: Host) => outlierLog?.returned(name, host),
    };
    const hosts = () => hostSet.hosts;
    if (outlier) {
      outlier.config = outlierConfig;
      outlier.rebind(hosts, events);
      outlier.retain(hostSet.hosts);
    } else outlier = new OutlierDetector(outlierConfig, hosts, events, undefined, random);
    (cluster as { outlier: OutlierDetector | undefined }).outlier = outlier;
  }
  let checker = previous?.healthChecker;
  if (!healthConfig) {
    checker?.stop();
    checker = undefined;
  } else {
    const name = settings.name;
    const events = {
      changed: () => {
        cluster.balancer = buildClusterBalancer(plan, hostSet, random).balancer;
      },
      transition: (host: Host, healthy: boolean, reason: string) =>
        outlierLog?.health?.(name, host, healthy, reason),
      // Read when a check runs: the runtime sets the hosts' mTLS once the cluster is built.
      tls: (host: Host) => cluster.hostTls?.get(host),
    };
    if (checker) {
      checker.config = healthConfig;
      checker.rebind(events);
    } else checker = new HealthChecker(healthConfig, events);
    checker.retain(hostSet.hosts);
    (cluster as { healthChecker: HealthChecker | undefined }).healthChecker = checker;
  }
  return cluster;
}
