/**
 * ClusterLoadAssignments: a service port's endpoints grouped by locality.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/endpoint/v3/endpoint.proto
 */
import type { Endpoint, MeshSettings, Service, ServicePort, Subset } from '../../mesh/index.js';
import { outboundClusterName } from './names.js';
import type { Message } from './resources.js';
import { endpointMetadata } from './workload-metadata.js';

/** Envoy requires endpoint weights >= 1; the model allows 1..128. */
function endpointWeight(e: Endpoint): number {
  return Number.isFinite(e.weight) ? Math.max(1, Math.round(e.weight)) : 1;
}

function matchesLabels(e: Endpoint, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(labels).every(([k, v]) => e.labels[k] === v);
}

interface Placed {
  readonly endpoint: Endpoint;
  readonly port: number;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lbEndpoint({ endpoint, port }: Placed, metadata: Message | undefined): Message {
  return {
    endpoint: { address: { socket_address: { address: endpoint.address, port_value: port } } },
    health_status: endpoint.health,
    load_balancing_weight: { value: endpointWeight(endpoint) },
    // Who the endpoint is (for the metrics), and whether it runs a sidecar (for mTLS).
    ...(metadata ? { metadata } : {}),
  };
}

/** Each endpoint's metadata, made once for all the service's ports and subsets. */
type MetadataOf = (e: Endpoint) => Message | undefined;

function metadataCache(service: Service, mesh: MeshSettings): MetadataOf {
  const cache = new Map<Endpoint, Message | undefined>();
  return (e) => {
    if (cache.has(e)) return cache.get(e);
    const m = endpointMetadata(e, service, mesh);
    cache.set(e, m);
    return m;
  };
}

/**
 * The CLA of a service port, or of one of its subsets. Endpoints without a port for the
 * service port are left out, and so is a second endpoint at an address:port already
 * present (gRPC NACKs duplicates). Every locality carries `load_balancing_weight`, the sum of
 * its endpoints' weights: grpc-js-xds drops a locality without one.
 */
export function loadAssignment(
  service: Service,
  port: ServicePort,
  subset: Subset | undefined,
  metadataOf: MetadataOf,
  warnings: string[],
): Message {
  const name = outboundClusterName(port.port, service.hostname, subset?.name);
  const seen = new Set<string>();
  const byLocality = new Map<string, { region: string; zone: string; placed: Placed[] }>();
  for (const endpoint of service.endpoints) {
    const endpointPort = endpoint.ports[port.port];
    if (endpointPort === undefined) continue;
    if (subset && !matchesLabels(endpoint, subset.labels)) continue;
    const address = `${endpoint.address}:${endpointPort}`;
    if (seen.has(address)) {
      // Said once per port: the subsets of the port have the same duplicate.
      if (!subset)
        warnings.push(`cluster ${name}: endpoint ${address} is listed twice; the first is kept`);
      continue;
    }
    seen.add(address);
    const key = JSON.stringify([endpoint.region, endpoint.zone]);
    let group = byLocality.get(key);
    if (!group) {
      group = { region: endpoint.region, zone: endpoint.zone, placed: [] };
      byLocality.set(key, group);
    }
    group.placed.push({ endpoint, port: endpointPort });
  }
  const groups = [...byLocality.values()].sort(
    (a, b) => compareStrings(a.region, b.region) || compareStrings(a.zone, b.zone),
  );
  const endpoints = groups.map((g) => {
    const placed = [...g.placed].sort(
      (a, b) => compareStrings(a.endpoint.address, b.endpoint.address) || a.port - b.port,
    );
    const weight = placed.reduce((sum, p) => sum + endpointWeight(p.endpoint), 0);
    return {
      locality: { region: g.region, zone: g.zone },
      lb_endpoints: placed.map((p) => lbEndpoint(p, metadataOf(p.endpoint))),
      load_balancing_weight: { value: Math.max(1, weight) },
      priority: 0,
    };
  });
  return { cluster_name: name, endpoints };
}

/** The CLAs of one service: per port, then per port and subset (names match its clusters). */
export function serviceLoadAssignments(
  service: Service,
  mesh: MeshSettings,
  warnings: string[],
): Message[] {
  const out: Message[] = [];
  const metadataOf = metadataCache(service, mesh);
  for (const port of service.ports) {
    out.push(loadAssignment(service, port, undefined, metadataOf, warnings));
    for (const subset of service.subsets) {
      out.push(loadAssignment(service, port, subset, metadataOf, warnings));
    }
  }
  return out;
}
