/**
 * The dashboard's JSON: the service graph with live numbers, one service's detail, and the
 * sidecars with their sync state. Pure functions of the stats and the mesh view.
 */
import { effectiveMtls, type Service } from '../mesh/index.js';
import type { EdgeStats, MeshStats, ServiceStats, VersionStats } from './mesh-stats.js';
import type { MeshView } from './mesh-view.js';
import type { EndpointVerdict, TargetStatus } from './metrics-scraper.js';
import { policyLines, routeRows } from './route-view.js';
import { syncState } from './sync-state.js';

export interface GraphNode {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  /** In the mesh file (or registered); a caller only seen in metrics is not. */
  readonly declared: boolean;
  readonly stats: Omit<ServiceStats, 'id' | 'name' | 'namespace'> | undefined;
  /**
   * The service's version nodes (Kiali's versioned-app graph): every version its endpoints
   * have or its traffic went to, with its numbers (requests, not retried attempts).
   */
  readonly versions: readonly VersionStats[];
}

export interface Graph {
  readonly at: string;
  readonly windowSeconds: number;
  readonly source: MeshStats['source'];
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly EdgeStats[];
  /** The rejected mesh file's error, while the last good configuration stays in force. */
  readonly configError: string | undefined;
}

/** A version without traffic in the window. */
function idleVersion(version: string): VersionStats {
  return { version, rps: 0, requests: 0, successRate: undefined, p50: undefined, p99: undefined };
}

/** The versions of a node: those with traffic, then those its endpoints declare. */
function versionsOf(svc: Service | undefined, stats: ServiceStats | undefined): VersionStats[] {
  const out = new Map<string, VersionStats>();
  for (const v of stats?.byVersion ?? []) out.set(v.version, v);
  for (const e of svc?.endpoints ?? []) {
    const v = e.labels.version;
    if (v && !out.has(v)) out.set(v, idleVersion(v));
  }
  // "unknown" (a caller that could not tell) is not a version node when real ones exist.
  if (out.size > 1) out.delete('unknown');
  return [...out.values()].sort((a, b) => (a.version < b.version ? -1 : 1));
}

/** `address:port`, IPv6 in brackets (as sidecars name hosts). */
function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function nodeId(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}

export function graphJson(stats: MeshStats, mesh: MeshView): Graph {
  const nodes = new Map<string, GraphNode>();
  const services = new Map(mesh.config().services.map((s) => [nodeId(s.name, s.namespace), s]));
  const add = (id: string, declared: boolean) => {
    if (nodes.has(id)) return;
    const dot = id.indexOf('.');
    const name = dot < 0 ? id : id.slice(0, dot);
    const namespace = dot < 0 ? '' : id.slice(dot + 1);
    const found = stats.services.find((x) => x.id === id);
    let s: GraphNode['stats'];
    if (found) {
      const { id: _id, name: _name, namespace: _ns, ...rest } = found;
      s = rest;
    }
    const versions = id === 'unknown' ? [] : versionsOf(services.get(id), found);
    nodes.set(id, { id, name, namespace, declared, stats: s, versions });
  };
  for (const svc of mesh.config().services) add(nodeId(svc.name, svc.namespace), true);
  for (const c of mesh.clients())
    if (c.workload) add(nodeId(c.workload.service, c.workload.namespace), true);
  for (const s of stats.services) add(s.id, false);
  for (const e of stats.edges) {
    add(e.source, false);
    add(e.destination, false);
  }
  return {
    at: new Date(stats.at).toISOString(),
    windowSeconds: stats.windowSeconds,
    source: stats.source,
    nodes: [...nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    edges: stats.edges,
    configError: mesh.configError(),
  };
}

export interface SidecarRow {
  readonly nodeId: string;
  readonly service: string;
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly mode: string;
  readonly connectedAt: string;
  /** LDS/RDS/CDS/EDS/SDS -> SYNCED | STALE | NACKED | NOT SENT. */
  readonly sync: Readonly<Record<string, string>>;
  /** Overall: NACKED if any type is, else STALE if any is, else SYNCED. */
  readonly state: string;
  readonly nacks: ReadonlyArray<{ type: string; message: string; version: string }>;
  /** Whether the dashboard can read its metrics. */
  readonly metrics: string;
}

export function sidecarsJson(mesh: MeshView, targets: readonly TargetStatus[]): SidecarRow[] {
  return mesh
    .clients()
    .map((c) => {
      const sync: Record<string, string> = {};
      const nacks: Array<{ type: string; message: string; version: string }> = [];
      for (const t of c.types) {
        const st = syncState(t);
        sync[t.type] = st;
        if (st === 'NACKED' && t.lastNack) {
          nacks.push({ type: t.type, message: t.lastNack.message, version: t.lastNack.version });
        }
      }
      const states = Object.values(sync);
      const state = states.includes('NACKED')
        ? 'NACKED'
        : states.some((s) => s === 'STALE' || s === 'NOT SENT')
          ? 'STALE'
          : 'SYNCED';
      const target = targets.find((t) => t.nodeId === c.nodeId);
      return {
        nodeId: c.nodeId,
        service: c.workload ? nodeId(c.workload.service, c.workload.namespace) : '-',
        address: c.workload?.address ?? '-',
        labels: c.workload?.labels ?? {},
        mode: c.mode,
        connectedAt: c.connectedAt,
        sync,
        state,
        nacks,
        metrics: target ? target.health : 'not scraped',
      };
    })
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
}

/** One service's detail: its configuration, its numbers and its sidecars. */
export function serviceJson(
  id: string,
  stats: MeshStats,
  mesh: MeshView,
  targets: readonly TargetStatus[],
  verdicts: readonly EndpointVerdict[] = [],
): object | undefined {
  const config = mesh.config();
  const svc = config.services.find((s) => nodeId(s.name, s.namespace) === id);
  const s = stats.services.find((x) => x.id === id);
  const sidecars = sidecarsJson(mesh, targets).filter((c) => c.service === id);
  if (!svc && !s && sidecars.length === 0) return undefined;
  return {
    id,
    hostname: svc?.hostname,
    ports: svc?.ports ?? [],
    endpoints: (svc?.endpoints ?? []).map((e) => {
      const keys = new Set(Object.values(e.ports).map((port) => endpointKey(e.address, port)));
      const seenBy = svc
        ? verdicts
            .filter((v) => keys.has(v.endpoint) && v.cluster.endsWith(`|${svc.hostname}`))
            .map((v) => ({ sidecar: v.sidecar, reason: v.reason }))
        : [];
      return {
        address: e.address,
        ports: e.ports,
        labels: e.labels,
        health: e.health,
        zone: e.zone,
        weight: e.weight,
        source: e.source,
        // What the calling sidecars make of it: ejected, failing its health checks...
        seenBy: [...new Map(seenBy.map((x) => [`${x.sidecar} ${x.reason}`, x])).values()],
      };
    }),
    versions: [...new Set((svc?.endpoints ?? []).map((e) => e.labels.version).filter((v) => v))],
    subsets: svc?.subsets ?? [],
    policy: svc?.policy,
    policyLines: svc ? policyLines(svc.policy) : [],
    routes: svc ? routeRows(svc) : [],
    mtls: svc ? effectiveMtls(svc, config.mesh) : undefined,
    authorization: svc?.authorization,
    stats: s,
    inbound: stats.edges.filter((e) => e.destination === id),
    outbound: stats.edges.filter((e) => e.source === id),
    sidecars,
  };
}
