/**
 * What a sidecar counted between two scrapes, per series: the counter (or histogram bucket)
 * increments, reset-aware the way Prometheus's rate() is: a value lower than the previous
 * one means the sidecar restarted and counted from zero, so the increment is the new value.
 * https://prometheus.io/docs/prometheus/latest/querying/functions/#rate
 */
import type { Labels, Sample } from './prometheus-text.js';

export const REQUESTS_TOTAL = 'istio_requests_total';
export const DURATION_BUCKET = 'istio_request_duration_milliseconds_bucket';
/** Istio's TCP counters; their points carry the metric's name as `__name__`, as Prometheus does. */
export const TCP_METRICS = [
  'istio_tcp_sent_bytes_total',
  'istio_tcp_received_bytes_total',
  'istio_tcp_connections_opened_total',
  'istio_tcp_connections_closed_total',
] as const;
export type TcpMetric = (typeof TCP_METRICS)[number];

function isTcpMetric(name: string): name is TcpMetric {
  return (TCP_METRICS as readonly string[]).includes(name);
}

/** A sidecar's endpoints it does not send to (a gauge: read as is, not as a delta). */
export const ENDPOINT_UNHEALTHY = 'ferry_proxy_endpoint_unhealthy';

/** The metrics the dashboard reads from a scrape. */
export function isDashboardMetric(name: string): boolean {
  return (
    name === REQUESTS_TOTAL ||
    name === DURATION_BUCKET ||
    isTcpMetric(name) ||
    name === ENDPOINT_UNHEALTHY
  );
}

export interface Point {
  readonly labels: Labels;
  readonly value: number;
}

/** One scrape of one target, by series key. */
export interface Reading {
  /** When the scrape finished (ms, the injected clock). */
  readonly at: number;
  readonly requests: ReadonlyMap<string, Point>;
  readonly buckets: ReadonlyMap<string, Point>;
  readonly tcp: ReadonlyMap<string, Point>;
  /** ferry_proxy_endpoint_unhealthy samples: cluster_name, endpoint, reason. */
  readonly unhealthy: readonly Point[];
}

/** The increments between two readings of one target. */
export interface Delta {
  readonly from: number;
  readonly to: number;
  readonly requests: readonly Point[];
  readonly buckets: readonly Point[];
  /** Increments of the TCP counters, each point labelled with its `__name__`. */
  readonly tcp: readonly Point[];
}

export function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\u0000');
}

export function toReading(samples: readonly Sample[], at: number): Reading {
  const requests = new Map<string, Point>();
  const buckets = new Map<string, Point>();
  const tcp = new Map<string, Point>();
  const unhealthy: Point[] = [];
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    if (s.name === ENDPOINT_UNHEALTHY) {
      if (s.value > 0) unhealthy.push({ labels: s.labels, value: s.value });
      continue;
    }
    if (isTcpMetric(s.name)) {
      const labels = { ...s.labels, __name__: s.name };
      tcp.set(seriesKey(labels), { labels, value: s.value });
      continue;
    }
    const into =
      s.name === REQUESTS_TOTAL ? requests : s.name === DURATION_BUCKET ? buckets : undefined;
    into?.set(seriesKey(s.labels), { labels: s.labels, value: s.value });
  }
  return { at, requests, buckets, tcp, unhealthy };
}

function increments(prev: ReadonlyMap<string, Point>, cur: ReadonlyMap<string, Point>): Point[] {
  const out: Point[] = [];
  for (const [key, p] of cur) {
    const before = prev.get(key)?.value ?? 0;
    const inc = p.value >= before ? p.value - before : p.value;
    if (inc > 0) out.push({ labels: p.labels, value: inc });
  }
  return out;
}

/** The series a bucket belongs to: its labels without `le`. */
function histogramKey(labels: Labels): string {
  const { le: _le, ...rest } = labels;
  return seriesKey(rest);
}

/**
 * Bucket increments of every histogram that moved, empty buckets included: an empty bucket
 * is the lower bound of the next one, and without it a quantile would be interpolated from
 * zero (a p50 of 2.8 ms instead of 3.2 ms for requests that all took 1-5 ms).
 */
function bucketIncrements(
  prev: ReadonlyMap<string, Point>,
  cur: ReadonlyMap<string, Point>,
): Point[] {
  const all: Array<{ group: string; point: Point }> = [];
  const moved = new Set<string>();
  for (const [key, p] of cur) {
    const before = prev.get(key)?.value ?? 0;
    const inc = p.value >= before ? p.value - before : p.value;
    const group = histogramKey(p.labels);
    if (inc > 0) moved.add(group);
    all.push({ group, point: { labels: p.labels, value: inc } });
  }
  return all.filter((x) => moved.has(x.group)).map((x) => x.point);
}

/** A series new in `cur` counted from zero (it was created since `prev`). */
export function delta(prev: Reading, cur: Reading): Delta {
  return {
    from: prev.at,
    to: cur.at,
    requests: increments(prev.requests, cur.requests),
    buckets: bucketIncrements(prev.buckets, cur.buckets),
    tcp: increments(prev.tcp, cur.tcp),
  };
}
