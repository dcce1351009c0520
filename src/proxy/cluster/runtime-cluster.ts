/**
 * A cluster as the data path uses it: its hosts (kept across updates so counters and
 * pools survive), its balancer (rebuilt at config time), and how to reach its hosts.
 */

import { durationMs, type envoy, messageName, types, unpackAny } from '../../xds/index.js';
import {
  buildClusterBalancer,
  formatLbError,
  type Host,
  HostSet,
  type LoadBalancer,
  parseClusterLb,
  type Random,
} from '../lb/index.js';
import type { UpstreamProtocol, UpstreamTls } from '../upstream/index.js';
import { CircuitBreakers, parseThresholds } from './circuit-breakers.js';
import { HealthChecker, parseHealthCheck } from './health-checker.js';
import { OutlierDetector, parseOutlierDetection } from './outlier-detector.js';

/** Where a cluster's ejections and returns are reported (logs, metrics). */
export interface OutlierLog {
  ejected(cluster: string, host: Host, reason: string, ms: number): void;
  returned(cluster: string, host: Host): void;
  /** Active health checking marked a host healthy or unhealthy. */
  health?(cluster: string, host: Host, healthy: boolean, reason: string): void;
}

/** A Cluster as the data path reads it: the decoded resource, which the xDS client keys by name. */
export type ClusterResource = envoy.Cluster & { readonly name: string };

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

/** typed_extension_protocol_options is keyed by the options' message name. */
const PROTOCOL_OPTIONS = messageName(types.HTTP_PROTOCOL_OPTIONS);
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** The name of the ClusterLoadAssignment an EDS cluster reads. */
export function edsName(cluster: ClusterResource): string {
  return cluster.eds_cluster_config?.service_name || cluster.name;
}

export function upstreamProtocol(cluster: ClusterResource): UpstreamProtocol {
  const opts = unpackAny<envoy.HttpProtocolOptions>(
    cluster.typed_extension_protocol_options?.[PROTOCOL_OPTIONS],
    types.HTTP_PROTOCOL_OPTIONS,
  );
  return opts?.explicit_http_config?.http2_protocol_options || cluster.http2_protocol_options
    ? 'http2'
    : 'http1';
}

/** The cluster's connect timeout (Envoy's 5 s when absent). */
export function connectTimeoutMs(cluster: ClusterResource): number {
  // Absent, zero or malformed (NaN): the default.
  return durationMs(cluster.connect_timeout) || DEFAULT_CONNECT_TIMEOUT_MS;
}

export type ClusterResult =
  | { readonly ok: true; readonly cluster: RuntimeCluster }
  | { readonly ok: false; readonly error: string };

/**
 * Builds a runtime cluster from its resource and assignment (the assignment of an EDS
 * cluster, or the inline one of a STATIC cluster), reusing `previous`'s hosts.
 */
export function buildCluster(
  resource: ClusterResource,
  assignment: envoy.ClusterLoadAssignment | undefined,
  previous: RuntimeCluster | undefined,
  random: Random,
  outlierLog?: OutlierLog,
): ClusterResult {
  const plan = parseClusterLb(resource);
  if (!plan.ok) return { ok: false, error: plan.errors.map(formatLbError).join('; ') };
  const hostSet = previous?.hostSet ?? new HostSet(resource.name);
  const cla = assignment ??
    resource.load_assignment ?? { cluster_name: resource.name, endpoints: [] };
  const updated = hostSet.update(cla);
  if (!updated.ok) return { ok: false, error: updated.errors.map(formatLbError).join('; ') };
  const built = buildClusterBalancer(plan.value, hostSet, random);
  const thresholds = parseThresholds(resource);
  const breakers = previous?.breakers ?? new CircuitBreakers(thresholds);
  breakers.thresholds = thresholds;
  let healthConfig: ReturnType<typeof parseHealthCheck>;
  try {
    healthConfig = parseHealthCheck(resource);
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  const outlierConfig = parseOutlierDetection(resource);
  let outlier = previous?.outlier;
  if (!outlierConfig) {
    outlier?.stop();
    outlier = undefined;
  }
  const cluster: RuntimeCluster = {
    name: resource.name,
    hostSet,
    balancer: built.balancer,
    outlier: undefined,
    healthChecker: undefined,
    policy: built.policy,
    protocol: upstreamProtocol(resource),
    connectTimeoutMs: connectTimeoutMs(resource),
    breakers,
    maxConnections: thresholds.maxConnections,
    maxPendingRequests: thresholds.maxPendingRequests,
  };
  if (outlierConfig) {
    const name = resource.name;
    const events = {
      // An ejection or a return changes which hosts are healthy: rebuild the balancer.
      changed: () => {
        cluster.balancer = buildClusterBalancer(plan.value, hostSet, random).balancer;
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
    const name = resource.name;
    const events = {
      changed: () => {
        cluster.balancer = buildClusterBalancer(plan.value, hostSet, random).balancer;
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
  return { ok: true, cluster };
}
