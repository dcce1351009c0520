/**
 * The dashboard's numbers read from Prometheus instead of the sidecars, through its HTTP
 * query API (https://prometheus.io/docs/prometheus/latest/querying/api/): request rates
 * with rate() over the window, latency quantiles with histogram_quantile(). The same
 * reporter rules as for the sidecars apply (mesh-stats.ts): edges from the caller's count
 * where there is one, services from the callee's.
 */
import { computeMeshStats, edgeEnds, type MeshStats } from './mesh-stats.js';
import type { StatsSource, TargetStatus } from './metrics-scraper.js';
import type { Labels } from './prometheus-text.js';
import { type Point, TCP_METRICS } from './series-delta.js';

export interface PrometheusStatsOptions {
  /** Prometheus's base URL, e.g. http://prometheus:9090. */
  readonly url: string;
  /** The rate() window. Default 60 s (at least four scrape intervals, as Prometheus advises). */
  readonly windowSeconds?: number;
  /** Per query. Default 5000 ms. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** Prometheus could not be asked, or refused the query. */
export class PrometheusQueryError extends Error {
  readonly code = 'FERRY_PROMETHEUS_QUERY';
  constructor(message: string) {
    super(message);
    this.name = 'PrometheusQueryError';
  }
}

interface VectorSample {
  readonly metric: Labels;
  readonly value: [number, string];
}

const SOURCE = ['source_canonical_service', 'source_app', 'source_workload_namespace'];
const DESTINATION = [
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
];
/** What the counts are grouped by: everything mesh-stats.ts reads. */
const COUNT_BY = [
  'reporter',
  ...SOURCE,
  'source_workload',
  ...DESTINATION,
  'destination_workload',
  'destination_workload_namespace',
  'destination_version',
  'response_code',
  'response_flags',
  'connection_security_policy',
  // The caller's mTLS mark (its connection_security_policy is "unknown"), and the protocol.
  'destination_principal',
  'request_protocol',
].join(', ');
/**
 * Quantiles cannot be added up, so they are asked for per edge and per service directly;
 * per-workload labels are left out so that one edge is one series.
 */
const EDGE_BY = ['reporter', ...SOURCE, ...DESTINATION].join(', ');
/** TCP counters are grouped by what names an edge, and what says whether it is mTLS. */
const TCP_BY = [
  EDGE_BY,
  'destination_workload',
  'destination_principal',
  'connection_security_policy',
].join(', ');
const SERVICE_BY = ['reporter', ...DESTINATION].join(', ');

export function prometheusQueries(windowSeconds: number): Record<string, string> {
  const w = `${Math.max(1, Math.round(windowSeconds))}s`;
  const buckets = (by: string) =>
    `sum by (${by}, le) (rate(istio_request_duration_milliseconds_bucket[${w}]))`;
  return {
    counts: `sum by (${COUNT_BY}) (rate(istio_requests_total[${w}]))`,
    edgeP50: `histogram_quantile(0.5, ${buckets(EDGE_BY)})`,
    edgeP99: `histogram_quantile(0.99, ${buckets(EDGE_BY)})`,
    serviceP50: `histogram_quantile(0.5, ${buckets(SERVICE_BY)})`,
    serviceP99: `histogram_quantile(0.99, ${buckets(SERVICE_BY)})`,
    ...Object.fromEntries(
      TCP_METRICS.map((m) => [m, `sum by (${TCP_BY}) (rate(${m}[${w}]))`] as const),
    ),
  };
}

function quantileIndex(
  samples: readonly VectorSample[],
  key: (i: { source: string; destination: string }) => string,
) {
  const out = new Map<string, Map<string, number>>();
  for (const s of samples) {
    const v = Number(s.value[1]);
    if (!Number.isFinite(v)) continue;
    const k = key(edgeEnds(s.metric));
    const byReporter = out.get(k) ?? new Map<string, number>();
    byReporter.set(s.metric.reporter ?? '', v);
    out.set(k, byReporter);
  }
  return out;
}

export class PrometheusStats implements StatsSource {
  private readonly windowSeconds: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly base: string;

  constructor(options: PrometheusStatsOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.windowSeconds = options.windowSeconds ?? 60;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  private async query(q: string, at: number): Promise<VectorSample[]> {
    const url = `${this.base}/api/v1/query?query=${encodeURIComponent(q)}&time=${at / 1000}`;
    let body: {
      status?: string;
      error?: string;
      data?: { resultType?: string; result?: VectorSample[] };
    };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw new PrometheusQueryError(
        `cannot query Prometheus at ${this.base}: ${(err as Error).message}`,
      );
    }
    if (body.status !== 'success' || body.data?.resultType !== 'vector') {
      throw new PrometheusQueryError(`Prometheus refused ${q}: ${body.error ?? 'not a vector'}`);
    }
    return body.data.result ?? [];
  }

  async stats(): Promise<MeshStats> {
    const at = this.now();
    const q = prometheusQueries(this.windowSeconds);
    const [counts, edgeP50, edgeP99, serviceP50, serviceP99, ...tcpRates] = await Promise.all([
      this.query(q.counts as string, at),
      this.query(q.edgeP50 as string, at),
      this.query(q.edgeP99 as string, at),
      this.query(q.serviceP50 as string, at),
      this.query(q.serviceP99 as string, at),
      ...TCP_METRICS.map((m) => this.query(q[m] as string, at)),
    ]);
    // rate() x window: the counts of the window, so computeMeshStats's rates are the rates.
    const windowCounts = (samples: readonly VectorSample[], name?: string): Point[] =>
      samples
        .map((s) => ({
          labels: name ? { ...s.metric, __name__: name } : s.metric,
          value: Number(s.value[1]) * this.windowSeconds,
        }))
        .filter((p) => Number.isFinite(p.value) && p.value > 0);
    const requests = windowCounts(counts);
    const tcp = TCP_METRICS.flatMap((m, i) => windowCounts(tcpRates[i] ?? [], m));
    const base = computeMeshStats(
      [{ from: at - this.windowSeconds * 1000, to: at, requests, buckets: [], tcp }],
      this.windowSeconds,
      at,
    );
    const edgeKey = (i: { source: string; destination: string }) => `${i.source}>${i.destination}`;
    const serviceKey = (i: { destination: string }) => i.destination;
    const e50 = quantileIndex(edgeP50, edgeKey);
    const e99 = quantileIndex(edgeP99, edgeKey);
    const s50 = quantileIndex(serviceP50, serviceKey);
    const s99 = quantileIndex(serviceP99, serviceKey);
    const pick = (m: Map<string, number> | undefined, first: string, second: string) =>
      m?.get(first) ?? m?.get(second);
    return {
      ...base,
      source: 'prometheus',
      edges: base.edges.map((e) => {
        const k = edgeKey(e);
        return {
          ...e,
          p50: pick(e50.get(k), 'source', 'destination'),
          p99: pick(e99.get(k), 'source', 'destination'),
        };
      }),
      services: base.services.map((s) => ({
        ...s,
        p50: pick(s50.get(s.id), 'destination', 'source'),
        p99: pick(s99.get(s.id), 'destination', 'source'),
      })),
    };
  }

  /** Prometheus does the scraping; the dashboard has no targets of its own. */
  targets(): TargetStatus[] {
    return [];
  }
}
