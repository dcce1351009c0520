/**
 * A versioned-app graph built from Istio's series the way Kiali builds it (kiali/kiali,
 * business/graph/telemetry/istio): traffic a sidecar sent comes from reporter="source"
 * series; traffic from outside the mesh from reporter="destination" series whose
 * source_workload is "unknown". A series lacking any of the canonical service/revision
 * labels is dropped (which is why a Kiali graph of series without them is empty). A
 * workload is a node `app:version` (canonical service and revision), "unknown" for an
 * unknown caller; every request to a service passes through a service node `svc:name.ns`.
 */
import type { PromSeries } from './prometheus.js';

const REQUIRED = [
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'destination_service_name',
  'destination_service_namespace',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
];

export interface KialiGraph {
  readonly nodes: ReadonlySet<string>;
  /** `from -> to [protocol]`. */
  readonly edges: ReadonlySet<string>;
  /** Series dropped for a missing label. */
  readonly dropped: number;
}

export function versionedAppGraph(
  series: readonly PromSeries[],
  protocolOf: (s: PromSeries) => string,
): KialiGraph {
  const nodes = new Set<string>();
  const edges = new Set<string>();
  let dropped = 0;
  for (const s of series) {
    const l = s.metric;
    const fromOutside = l.reporter === 'destination' && l.source_workload === 'unknown';
    if (l.reporter !== 'source' && !fromOutside) continue;
    if (REQUIRED.some((name) => !l[name])) {
      dropped++;
      continue;
    }
    const source =
      l.source_workload === 'unknown'
        ? 'unknown'
        : `${l.source_canonical_service}:${l.source_canonical_revision}`;
    const service = `svc:${l.destination_service_name}.${l.destination_service_namespace}`;
    const protocol = protocolOf(s);
    nodes.add(source);
    nodes.add(service);
    edges.add(`${source} -> ${service} [${protocol}]`);
    if (l.destination_workload !== 'unknown') {
      const destination = `${l.destination_canonical_service}:${l.destination_canonical_revision}`;
      nodes.add(destination);
      edges.add(`${service} -> ${destination} [${protocol}]`);
    }
  }
  return { nodes, edges, dropped };
}
