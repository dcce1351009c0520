/**
 * Clusters: one EDS cluster per service port and per (port, subset), and the static
 * cluster in front of a sidecar's app.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto
 */
import {
  type CircuitBreaker,
  DEFAULT_CONNECT_TIMEOUT_MS,
  effectiveMtls,
  type LoadBalancer,
  type MeshSettings,
  type OutlierDetection,
  type Service,
  type ServicePort,
} from '../../mesh/index.js';
import { durationFromMs, type Json, jsonToStruct } from '../../xds/index.js';
import { healthCheck } from './health-check.js';
import { outboundClusterName, outboundSni } from './names.js';
import { adsConfigSource } from './network-filters.js';
import { isHttp2Protocol, type UpstreamHttp, upstreamProtocolOptions } from './protocols.js';
import type { Message } from './resources.js';
import { meshedTransportSocketMatches, usesMtls } from './tls.js';

const LB_POLICIES: Readonly<Record<LoadBalancer, string>> = {
  round_robin: 'ROUND_ROBIN',
  least_request: 'LEAST_REQUEST',
  ring_hash: 'RING_HASH',
  maglev: 'MAGLEV',
  random: 'RANDOM',
};

/** Balancers that proxyless gRPC (grpc-js-xds 1.14) accepts in `lb_policy`; it NACKs others. */
const GRPC_LB_POLICIES: ReadonlySet<LoadBalancer> = new Set(['round_robin', 'ring_hash']);

export function lbPolicy(lb: LoadBalancer): string {
  return LB_POLICIES[lb];
}

export function isConsistentHash(lb: LoadBalancer): boolean {
  return lb === 'ring_hash' || lb === 'maglev';
}

const wrap = (value: number) => ({ value });

function circuitBreakers(cb: CircuitBreaker): Message | undefined {
  const threshold: Message = {
    ...(cb.maxConnections !== undefined ? { max_connections: wrap(cb.maxConnections) } : {}),
    ...(cb.maxPendingRequests !== undefined
      ? { max_pending_requests: wrap(cb.maxPendingRequests) }
      : {}),
    ...(cb.maxRequests !== undefined ? { max_requests: wrap(cb.maxRequests) } : {}),
    ...(cb.maxRetries !== undefined ? { max_retries: wrap(cb.maxRetries) } : {}),
  };
  if (Object.keys(threshold).length === 0) return undefined;
  return { thresholds: [{ priority: 'DEFAULT', ...threshold }] };
}

/** Success-rate and failure-percentage ejection, each enforced only when the file asks. */
function statisticalDetectors(od: OutlierDetection): Message {
  const sr = od.successRate;
  const fp = od.failurePercentage;
  return {
    enforcing_success_rate: wrap(sr ? 100 : 0),
    ...(sr?.minimumHosts !== undefined
      ? { success_rate_minimum_hosts: wrap(sr.minimumHosts) }
      : {}),
    ...(sr?.requestVolume !== undefined
      ? { success_rate_request_volume: wrap(sr.requestVolume) }
      : {}),
    ...(sr?.stdevFactor !== undefined
      ? { success_rate_stdev_factor: wrap(Math.round(sr.stdevFactor * 1000)) }
      : {}),
    ...(fp ? { enforcing_failure_percentage: wrap(100) } : {}),
    ...(fp?.threshold !== undefined ? { failure_percentage_threshold: wrap(fp.threshold) } : {}),
    ...(fp?.minimumHosts !== undefined
      ? { failure_percentage_minimum_hosts: wrap(fp.minimumHosts) }
      : {}),
    ...(fp?.requestVolume !== undefined
      ? { failure_percentage_request_volume: wrap(fp.requestVolume) }
      : {}),
  };
}

/**
 * Only the detectors the mesh file asks for run: Envoy enforces success-rate ejection by
 * default and gateway-failure ejection not at all, so both enforcements are set explicitly
 * (as Istio does).
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/outlier_detection.proto
 */
function outlierDetection(od: OutlierDetection): Message | undefined {
  const fields: Message = {
    ...(od.consecutive5xx !== undefined ? { consecutive_5xx: wrap(od.consecutive5xx) } : {}),
    ...(od.consecutiveGatewayErrors !== undefined
      ? {
          consecutive_gateway_failure: wrap(od.consecutiveGatewayErrors),
          enforcing_consecutive_gateway_failure: wrap(100),
        }
      : {}),
    ...(od.consecutiveLocalOriginFailures !== undefined
      ? {
          split_external_local_origin_errors: true,
          consecutive_local_origin_failure: wrap(od.consecutiveLocalOriginFailures),
          enforcing_consecutive_local_origin_failure: wrap(100),
        }
      : {}),
    ...(od.intervalMs !== undefined ? { interval: durationFromMs(od.intervalMs) } : {}),
    ...(od.baseEjectionTimeMs !== undefined
      ? { base_ejection_time: durationFromMs(od.baseEjectionTimeMs) }
      : {}),
    ...(od.maxEjectionPercent !== undefined
      ? { max_ejection_percent: wrap(od.maxEjectionPercent) }
      : {}),
  };
  const asked = od.successRate !== undefined || od.failurePercentage !== undefined;
  if (Object.keys(fields).length === 0 && !asked) return undefined;
  return { ...fields, ...statisticalDetectors(od) };
}

function clusterMetadata(service: Service, port: ServicePort, subset?: string): Message {
  const ferry: Record<string, Json> = {
    service: service.name,
    namespace: service.namespace,
    port: port.port,
    protocol: port.protocol,
    ...(subset !== undefined ? { subset } : {}),
  };
  return { filter_metadata: { ferry: jsonToStruct(ferry) } };
}

/** A connect timeout Envoy accepts (it must be > 0). */
function connectTimeoutMs(service: Service, warnings: string[]): number {
  const ms = service.policy.connectTimeoutMs;
  if (Number.isFinite(ms) && ms > 0) return ms;
  warnings.push(
    `service ${service.name}.${service.namespace}: connect timeout ${ms} ms is not positive; using ${DEFAULT_CONNECT_TIMEOUT_MS} ms`,
  );
  return DEFAULT_CONNECT_TIMEOUT_MS;
}

/**
 * Clients use mutual TLS with the meshed endpoints of a service whose inbound mode is not
 * DISABLE (a DISABLE sidecar accepts only plaintext), and plaintext with the others.
 */
function mtlsMatches(
  service: Service,
  port: ServicePort,
  mesh: MeshSettings,
  subset: string | undefined,
): Message[] {
  const mode = effectiveMtls(service, mesh);
  if (!service.endpoints.some((e) => usesMtls(e, mode))) return [];
  return meshedTransportSocketMatches(
    service,
    port,
    mesh,
    outboundSni(port.port, service.hostname, subset),
  );
}

function outboundCluster(
  service: Service,
  port: ServicePort,
  timeoutMs: number,
  mesh: MeshSettings,
  subset?: string,
): Message {
  const name = outboundClusterName(port.port, service.hostname, subset);
  const matches = mtlsMatches(service, port, mesh, subset);
  const policy = service.policy;
  const breakers = policy.circuitBreaker && circuitBreakers(policy.circuitBreaker);
  const outliers = policy.outlierDetection && outlierDetection(policy.outlierDetection);
  // A subset's own health check replaces the service's for the subset's clusters.
  const check =
    (subset !== undefined
      ? service.subsets.find((s) => s.name === subset)?.healthCheck
      : undefined) ?? policy.healthCheck;
  const protocolOptions = upstreamProtocolOptions(
    isHttp2Protocol(port.protocol) ? 'http2' : 'http1',
  );
  return {
    name,
    type: 'EDS',
    // grpc-js-xds requires the ADS config source; service_name ties the cluster to its CLA.
    eds_cluster_config: { eds_config: adsConfigSource(), service_name: name },
    connect_timeout: durationFromMs(timeoutMs),
    lb_policy: lbPolicy(policy.loadBalancer),
    ...(breakers ? { circuit_breakers: breakers } : {}),
    ...(outliers ? { outlier_detection: outliers } : {}),
    ...(check ? { health_checks: [healthCheck(check)] } : {}),
    ...(policy.panicThreshold !== undefined
      ? { common_lb_config: { healthy_panic_threshold: { value: policy.panicThreshold } } }
      : {}),
    ...(protocolOptions ? { typed_extension_protocol_options: protocolOptions } : {}),
    ...(matches.length > 0 ? { transport_socket_matches: matches } : {}),
    metadata: clusterMetadata(service, port, subset),
  };
}

/** The outbound clusters of one service: per port, then per port and subset. */
export function serviceClusters(
  service: Service,
  mesh: MeshSettings,
  warnings: string[],
): Message[] {
  const lb = service.policy.loadBalancer;
  if (!GRPC_LB_POLICIES.has(lb) && service.ports.some((p) => p.protocol === 'grpc')) {
    warnings.push(
      `service ${service.name}.${service.namespace}: proxyless gRPC clients reject lb_policy ${lbPolicy(lb)} (they support round_robin and ring_hash)`,
    );
  }
  const timeoutMs = connectTimeoutMs(service, warnings);
  const clusters: Message[] = [];
  for (const port of service.ports) {
    clusters.push(outboundCluster(service, port, timeoutMs, mesh));
    for (const subset of service.subsets) {
      clusters.push(outboundCluster(service, port, timeoutMs, mesh, subset.name));
    }
  }
  return clusters;
}

/**
 * The cluster in front of a sidecar's app: a STATIC cluster with the app's loopback
 * address inline, so it needs no EDS.
 */
export function inboundCluster(name: string, appPort: number, http: UpstreamHttp): Message {
  const protocolOptions = upstreamProtocolOptions(http);
  return {
    name,
    type: 'STATIC',
    connect_timeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          locality: {},
          load_balancing_weight: wrap(1),
          lb_endpoints: [
            {
              endpoint: {
                address: { socket_address: { address: '127.0.0.1', port_value: appPort } },
              },
              load_balancing_weight: wrap(1),
            },
          ],
        },
      ],
    },
    ...(protocolOptions ? { typed_extension_protocol_options: protocolOptions } : {}),
  };
}
