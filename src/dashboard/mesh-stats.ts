/**
 * The numbers the dashboard shows, computed from what sidecars counted in a time window:
 * per edge (calling service -> called service) and per service, request rate, success rate
 * (responses that are not 5xx; a gRPC status other than OK in a 200 is not a failure here,
 * as in Istio's dashboards), p50/p99 latency and requests by response flag.
 *
 * TCP traffic (Istio's istio_tcp_* counters) makes edges too, with bytes per second each way
 * and connections opened and closed per second.
 *
 * Each request (and connection) is counted twice in a mesh (reporter="source" by the caller's sidecar,
 * reporter="destination" by the callee's): edges use the caller's count where there is
 * one, else the callee's (a caller without a sidecar); services use the callee's count
 * where there is one. Versions use the caller's count where there is one: the caller counts
 * a request once, with the version of the host that answered it last, where the callee
 * counts every retried attempt (Istio's semantics), so a version that fails and is retried
 * elsewhere shows its failures and not a fair share of successes.
 *
 * mTLS: the callee's series say `connection_security_policy="mutual_tls"`; the caller's say
 * `unknown` there (as Istio's do), and name the callee's SPIFFE ID as destination_principal
 * only over mTLS, which is what counts on their side.
 *
 * A callee cannot name a meshed caller that reached it in plaintext (mTLS off): it reports
 * an unknown source. When the caller's own sidecar reported plaintext requests to that
 * service, those unknown-source series are the same requests and draw no edge (no false
 * `unknown` node). https://istio.io/latest/docs/reference/config/metrics/
 */
import { histogramQuantile } from './histogram-quantile.js';
import type { Labels } from './prometheus-text.js';
import type { Delta, Point, TcpMetric } from './series-delta.js';

export interface TrafficStats {
  /** Requests per second over the window. */
  readonly rps: number;
  /** Requests in the window. */
  readonly requests: number;
  /** Fraction of requests that did not get a 5xx; undefined without requests. */
  readonly successRate: number | undefined;
  /** Latency quantiles, ms; undefined without samples. */
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  /** Requests by response flag ("-" none excluded), e.g. { UF: 3, UO: 1 }. */
  readonly responseFlags: Readonly<Record<string, number>>;
  /** Requests by response code. */
  readonly responseCodes: Readonly<Record<string, number>>;
}

/** An edge's TCP traffic over the window, from Istio's istio_tcp_* counters. */
export interface TcpStats {
  /** Bytes per second from the caller (istio_tcp_received_bytes_total) and back to it (sent). */
  readonly receivedBytesPerSecond: number;
  readonly sentBytesPerSecond: number;
  readonly connectionsOpenedPerSecond: number;
  readonly connectionsClosedPerSecond: number;
  /** Connections opened and closed in the window. */
  readonly connectionsOpened: number;
  readonly connectionsClosed: number;
}

export interface EdgeStats extends TrafficStats {
  /** Node ids: `name.namespace` (the caller's canonical service, or "unknown"). */
  readonly source: string;
  readonly destination: string;
  /** The fraction of the edge's requests sent over mutual TLS. */
  readonly mtlsShare: number | undefined;
  /** Its protocols: request_protocol of its requests (http, grpc), and tcp. */
  readonly protocols: readonly string[];
  /** TCP traffic on the edge; undefined when it has none. */
  readonly tcp: TcpStats | undefined;
}

/** One version of a service: requests (not attempts) and how many succeeded. */
export interface VersionStats {
  readonly version: string;
  readonly rps: number;
  readonly requests: number;
  readonly successRate: number | undefined;
  readonly p50: number | undefined;
  readonly p99: number | undefined;
}

export interface ServiceStats extends TrafficStats {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  /** destination_service, e.g. echo.default.svc.cluster.local. */
  readonly hosts: readonly string[];
  /** Requests by destination_version (the callers' counts where they report). */
  readonly versions: Readonly<Record<string, number>>;
  /** Per version: rate, success rate and latency (the callers' counts where they report). */
  readonly byVersion: readonly VersionStats[];
}

export interface MeshStats {
  /** When computed (ms since the epoch). */
  readonly at: number;
  readonly windowSeconds: number;
  readonly source: 'sidecars' | 'prometheus';
  readonly edges: readonly EdgeStats[];
  readonly services: readonly ServiceStats[];
}

const UNKNOWN = 'unknown';

/** Whether a series counts requests over mutual TLS, from either reporter's labels. */
function isMtls(l: Labels): boolean {
  return l.reporter === 'source'
    ? (l.destination_principal ?? '').startsWith('spiffe://')
    : l.connection_security_policy === 'mutual_tls';
}

function sourceId(l: Labels): string {
  const name = l.source_canonical_service || l.source_app || l.source_workload || UNKNOWN;
  if (name === UNKNOWN) return UNKNOWN;
  return `${name}.${l.source_workload_namespace || 'default'}`;
}

function destinationName(l: Labels): { name: string; namespace: string } {
  const host = l.destination_service || '';
  const name =
    l.destination_service_name ||
    l.destination_canonical_service ||
    host.split('.')[0] ||
    l.destination_workload ||
    UNKNOWN;
  const namespace =
    l.destination_service_namespace ||
    l.destination_workload_namespace ||
    host.split('.')[1] ||
    'default';
  return { name, namespace };
}

/** The graph node ids a series is about: its caller and the service it called. */
export function edgeEnds(l: Labels): { source: string; destination: string } {
  const d = destinationName(l);
  return { source: sourceId(l), destination: `${d.name}.${d.namespace}` };
}

class Accumulator {
  requests = 0;
  failures = 0;
  mtls = 0;
  readonly flags: Record<string, number> = {};
  readonly codes: Record<string, number> = {};
  readonly versions: Record<string, number> = {};
  readonly hosts = new Set<string>();
  readonly protocols = new Set<string>();
  readonly buckets = new Map<number, number>();

  count(p: Point): void {
    const l = p.labels;
    this.requests += p.value;
    const code = l.response_code ?? '';
    if (code.startsWith('5')) this.failures += p.value;
    if (isMtls(l)) this.mtls += p.value;
    if (l.request_protocol) this.protocols.add(l.request_protocol);
    const flag = l.response_flags ?? '-';
    if (flag !== '-' && flag !== '') {
      for (const f of flag.split(',')) this.flags[f] = (this.flags[f] ?? 0) + p.value;
    }
    this.codes[code || '-'] = (this.codes[code || '-'] ?? 0) + p.value;
    const version = l.destination_version || UNKNOWN;
    this.versions[version] = (this.versions[version] ?? 0) + p.value;
    if (l.destination_service) this.hosts.add(l.destination_service);
  }

  bucket(p: Point): void {
    const le = Number(p.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : p.labels.le);
    if (Number.isNaN(le)) return;
    this.buckets.set(le, (this.buckets.get(le) ?? 0) + p.value);
  }

  stats(seconds: number): TrafficStats {
    return {
      rps: seconds > 0 ? this.requests / seconds : 0,
      requests: this.requests,
      successRate: this.requests > 0 ? 1 - this.failures / this.requests : undefined,
      p50: histogramQuantile(0.5, this.buckets),
      p99: histogramQuantile(0.99, this.buckets),
      responseFlags: this.flags,
      responseCodes: this.codes,
    };
  }
}

/** The TCP counters of one edge. */
class TcpAccumulator {
  private readonly totals: Record<TcpMetric, number> = {
    istio_tcp_sent_bytes_total: 0,
    istio_tcp_received_bytes_total: 0,
    istio_tcp_connections_opened_total: 0,
    istio_tcp_connections_closed_total: 0,
  };

  private opened = 0;
  private openedMtls = 0;

  add(p: Point): void {
    const name = p.labels.__name__ as TcpMetric;
    if (name in this.totals) this.totals[name] += p.value;
    if (name === 'istio_tcp_connections_opened_total') {
      this.opened += p.value;
      if (isMtls(p.labels)) this.openedMtls += p.value;
    }
  }

  /** The share of the connections opened over mutual TLS. */
  get mtlsShare(): number | undefined {
    return this.opened > 0 ? this.openedMtls / this.opened : undefined;
  }

  stats(seconds: number): TcpStats {
    const t = this.totals;
    const per = (n: number) => (seconds > 0 ? n / seconds : 0);
    return {
      receivedBytesPerSecond: per(t.istio_tcp_received_bytes_total),
      sentBytesPerSecond: per(t.istio_tcp_sent_bytes_total),
      connectionsOpenedPerSecond: per(t.istio_tcp_connections_opened_total),
      connectionsClosedPerSecond: per(t.istio_tcp_connections_closed_total),
      connectionsOpened: t.istio_tcp_connections_opened_total,
      connectionsClosed: t.istio_tcp_connections_closed_total,
    };
  }
}

/** A service's per-version numbers (and the plain counts by version). */
function versionsOf(
  byVersion: Map<string, Accumulator> | undefined,
  seconds: number,
  fallback: Readonly<Record<string, number>>,
): { versions: Record<string, number>; byVersion: VersionStats[] } {
  if (!byVersion) return { versions: { ...fallback }, byVersion: [] };
  const versions: Record<string, number> = {};
  const list: VersionStats[] = [];
  for (const [version, acc] of [...byVersion].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const t = acc.stats(seconds);
    versions[version] = t.requests;
    list.push({
      version,
      rps: t.rps,
      requests: t.requests,
      successRate: t.successRate,
      p50: t.p50,
      p99: t.p99,
    });
  }
  return { versions, byVersion: list };
}

function get<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (!v) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/**
 * Mesh statistics over `windowSeconds` from the deltas the sidecars reported in it.
 * Pure: the same deltas give the same numbers.
 */
export function computeMeshStats(
  deltas: readonly Delta[],
  windowSeconds: number,
  at: number,
): MeshStats {
  // Which edges and services have a count from the preferred reporter at all.
  const edgeBySource = new Set<string>();
  const tcpEdgeBySource = new Set<string>();
  const tcpPlaintextBySource = new Set<string>();
  const serviceByDestination = new Set<string>();
  const versionsBySource = new Set<string>();
  // Services meshed callers reached in plaintext: their callee reports them as unknown.
  const plaintextBySource = new Set<string>();
  for (const d of deltas) {
    for (const p of [...d.requests, ...d.buckets]) {
      const dst = destinationName(p.labels);
      const dstId = `${dst.name}.${dst.namespace}`;
      if (p.labels.reporter === 'source') {
        edgeBySource.add(`${sourceId(p.labels)}>${dstId}`);
        versionsBySource.add(dstId);
        if (!isMtls(p.labels) && (p.labels.destination_workload ?? UNKNOWN) !== UNKNOWN) {
          plaintextBySource.add(dstId);
        }
      } else if (p.labels.reporter === 'destination') serviceByDestination.add(dstId);
    }
    for (const p of d.tcp) {
      if (p.labels.reporter === 'source') {
        const { source, destination } = edgeEnds(p.labels);
        tcpEdgeBySource.add(`${source}>${destination}`);
        if (!isMtls(p.labels) && (p.labels.destination_workload ?? UNKNOWN) !== UNKNOWN) {
          tcpPlaintextBySource.add(destination);
        }
      }
    }
  }
  const edges = new Map<
    string,
    { source: string; destination: string; acc: Accumulator; tcp: TcpAccumulator | undefined }
  >();
  const edgeOf = (source: string, destination: string) =>
    get(edges, `${source}>${destination}`, () => ({
      source,
      destination,
      acc: new Accumulator(),
      tcp: undefined,
    }));
  const services = new Map<string, { name: string; namespace: string; acc: Accumulator }>();
  const versions = new Map<string, Map<string, Accumulator>>();
  const visit = (p: Point, bucket: boolean) => {
    const l = p.labels;
    const dst = destinationName(l);
    const dstId = `${dst.name}.${dst.namespace}`;
    const src = sourceId(l);
    const edgeKey = `${src}>${dstId}`;
    const edgeReporter = edgeBySource.has(edgeKey) ? 'source' : 'destination';
    const sameAsReported =
      l.reporter === 'destination' && src === UNKNOWN && plaintextBySource.has(dstId);
    if (l.reporter === edgeReporter && !sameAsReported) {
      const e = edgeOf(src, dstId);
      if (bucket) e.acc.bucket(p);
      else e.acc.count(p);
    }
    const versionReporter = versionsBySource.has(dstId) ? 'source' : 'destination';
    if (l.reporter === versionReporter) {
      const byVersion = get(versions, dstId, () => new Map<string, Accumulator>());
      const v = get(byVersion, l.destination_version || UNKNOWN, () => new Accumulator());
      if (bucket) v.bucket(p);
      else v.count(p);
    }
    const serviceReporter = serviceByDestination.has(dstId) ? 'destination' : 'source';
    if (l.reporter === serviceReporter) {
      const s = get(services, dstId, () => ({ ...dst, acc: new Accumulator() }));
      if (bucket) s.acc.bucket(p);
      else s.acc.count(p);
    }
  };
  for (const d of deltas) {
    for (const p of d.requests) visit(p, false);
    for (const p of d.buckets) visit(p, true);
    for (const p of d.tcp) {
      const { source, destination } = edgeEnds(p.labels);
      const reporter = tcpEdgeBySource.has(`${source}>${destination}`) ? 'source' : 'destination';
      if (p.labels.reporter !== reporter) continue;
      // The same connections a meshed caller reported in plaintext: no false unknown caller.
      if (source === UNKNOWN && tcpPlaintextBySource.has(destination)) continue;
      const e = edgeOf(source, destination);
      e.tcp ??= new TcpAccumulator();
      e.tcp.add(p);
    }
  }
  return {
    at,
    windowSeconds,
    source: 'sidecars',
    edges: [...edges.values()]
      .map((e) => ({
        source: e.source,
        destination: e.destination,
        ...e.acc.stats(windowSeconds),
        mtlsShare: e.acc.requests > 0 ? e.acc.mtls / e.acc.requests : e.tcp?.mtlsShare,
        protocols: [...e.acc.protocols, ...(e.tcp ? ['tcp'] : [])].sort(),
        tcp: e.tcp?.stats(windowSeconds),
      }))
      .sort((a, b) => (a.source + a.destination < b.source + b.destination ? -1 : 1)),
    services: [...services.entries()]
      .map(([id, s]) => ({
        id,
        name: s.name,
        namespace: s.namespace,
        hosts: [...s.acc.hosts].sort(),
        ...s.acc.stats(windowSeconds),
        ...versionsOf(versions.get(id), windowSeconds, s.acc.versions),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
  };
}
