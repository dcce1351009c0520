/**
 * A Cluster resource compiled once, when it arrives: its balancer plan, circuit-breaker
 * thresholds, outlier detection, health checking, protocol, connect timeout and inline
 * endpoints, each validated, so that what cannot be followed is NACKed with the reason
 * and building the runtime cluster from it later cannot fail.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto
 */
import { durationMs, type envoy, messageName, types, unpackAny } from '../../xds/index.js';
import {
  type ClusterLbPlan,
  formatLbError,
  type ParsedAssignment,
  parseAssignment,
  parseClusterLb,
} from '../lb/index.js';
import type { UpstreamProtocol } from '../upstream/index.js';
import { type BreakerThresholds, parseThresholds } from './circuit-breakers.js';
import { type HealthCheckConfig, parseHealthCheck } from './health-checker.js';
import { type OutlierConfig, parseOutlierDetection } from './outlier-detector.js';

/** A Cluster as the data path reads it: the decoded resource, which the xDS client keys by name. */
export type ClusterResource = envoy.Cluster & { readonly name: string };

/** What a runtime cluster is built from, compiled from its resource. */
export interface ClusterSettings {
  readonly name: string;
  readonly plan: ClusterLbPlan;
  readonly thresholds: BreakerThresholds;
  readonly healthCheck: HealthCheckConfig | undefined;
  readonly outlierDetection: OutlierConfig | undefined;
  readonly protocol: UpstreamProtocol;
  readonly connectTimeoutMs: number;
  /** EDS: the name of the assignment to read; undefined for other types. */
  readonly edsName: string | undefined;
  /** The inline `load_assignment` (STATIC clusters), parsed. */
  readonly inlineAssignment: ParsedAssignment | undefined;
}

export type SettingsResult =
  | { readonly ok: true; readonly value: ClusterSettings }
  | { readonly ok: false; readonly error: string };

/** Compiles a cluster's settings, or says (every problem) why it cannot be used. */
export function compileClusterSettings(resource: ClusterResource): SettingsResult {
  const errors: string[] = [];
  const plan = parseClusterLb(resource);
  if (!plan.ok) errors.push(...plan.errors.map(formatLbError));
  let healthCheck: HealthCheckConfig | undefined;
  try {
    healthCheck = parseHealthCheck(resource);
  } catch (err) {
    errors.push((err as Error).message);
  }
  let inlineAssignment: ParsedAssignment | undefined;
  if (resource.load_assignment) {
    const r = parseAssignment(resource.load_assignment, resource.name);
    if (r.ok) inlineAssignment = r.value;
    else errors.push(...r.errors.map(formatLbError));
  }
  if (!plan.ok || errors.length > 0) return { ok: false, error: errors.join('; ') };
  return {
    ok: true,
    value: Object.freeze({
      name: resource.name,
      plan: plan.value,
      thresholds: parseThresholds(resource),
      healthCheck,
      outlierDetection: parseOutlierDetection(resource),
      protocol: upstreamProtocol(resource),
      connectTimeoutMs: connectTimeoutMs(resource),
      edsName: resource.type === 'EDS' ? edsName(resource) : undefined,
      inlineAssignment,
    }),
  };
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
