/**
 * A stand-in for a sidecar's metrics port in dashboard tests: a real HTTP server on
 * 127.0.0.1:0 serving /stats/prometheus in Istio's format (names, labels, buckets) from
 * counters the test moves. It can be made slow or down.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const DURATION_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];

export interface Peer {
  readonly workload: string;
  readonly app: string;
  readonly version: string;
  readonly namespace?: string;
}

export interface Call {
  readonly reporter: 'source' | 'destination';
  readonly source: Peer | undefined;
  readonly destination: Peer;
  readonly code?: number;
  readonly flags?: string;
  readonly ms: number;
  readonly mtls?: boolean;
  readonly count?: number;
}

/** A TCP connection (or several) between two workloads, as one sidecar counted it. */
export interface TcpCall {
  readonly reporter: 'source' | 'destination';
  readonly source: Peer | undefined;
  readonly destination: Peer;
  /** Bytes from the caller, and back to it. */
  readonly received: number;
  readonly sent: number;
  readonly opened?: number;
  readonly closed?: number;
  readonly mtls?: boolean;
}

/** Istio's TCP metrics, in the order they are rendered. */
const TCP_COUNTERS = [
  'istio_tcp_sent_bytes_total',
  'istio_tcp_received_bytes_total',
  'istio_tcp_connections_opened_total',
  'istio_tcp_connections_closed_total',
] as const;

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelsOf(c: Call): Record<string, string> {
  const ns = c.destination.namespace ?? 'default';
  const sns = c.source?.namespace ?? 'default';
  return {
    reporter: c.reporter,
    source_workload: c.source?.workload ?? 'unknown',
    source_workload_namespace: c.source ? sns : 'unknown',
    source_principal:
      c.source && c.mtls ? `spiffe://cluster.local/ns/${sns}/sa/${c.source.app}` : 'unknown',
    source_app: c.source?.app ?? 'unknown',
    source_version: c.source?.version ?? 'unknown',
    source_canonical_service: c.source?.app ?? 'unknown',
    source_cluster: 'Kubernetes',
    destination_workload: c.destination.workload,
    destination_workload_namespace: ns,
    destination_principal: c.mtls
      ? `spiffe://cluster.local/ns/${ns}/sa/${c.destination.app}`
      : 'unknown',
    destination_app: c.destination.app,
    destination_version: c.destination.version,
    destination_service: `${c.destination.app}.${ns}.svc.cluster.local`,
    destination_service_name: c.destination.app,
    destination_service_namespace: ns,
    destination_canonical_service: c.destination.app,
    destination_cluster: 'Kubernetes',
    request_protocol: 'http',
    response_code: String(c.code ?? 200),
    grpc_response_status: '',
    response_flags: c.flags ?? '-',
    connection_security_policy:
      c.reporter === 'destination' ? (c.mtls ? 'mutual_tls' : 'none') : 'unknown',
  };
}

function render(labels: Record<string, string>, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`);
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return `{${parts.join(',')}}`;
}

interface Series {
  labels: Record<string, string>;
  count: number;
  sum: number;
  buckets: number[];
}

/** TCP labels: the request labels without the request's own (Istio's TCP label set). */
function tcpLabelsOf(c: TcpCall): Record<string, string> {
  const {
    request_protocol: _p,
    response_code: _c,
    grpc_response_status: _g,
    ...labels
  } = labelsOf({ ...c, ms: 0 });
  return labels;
}

export class FakeSidecarMetrics {
  private readonly series = new Map<string, Series>();
  private readonly tcp = new Map<
    string,
    { labels: Record<string, string>; values: Record<(typeof TCP_COUNTERS)[number], number> }
  >();
  private server: http.Server | undefined;
  /** Delay before answering, ms (a slow sidecar). */
  delayMs = 0;
  /** Answer 503 (a sidecar whose metrics are broken). */
  failing = false;
  /** Endpoints this sidecar does not send to (ferry_proxy_endpoint_unhealthy). */
  unhealthy: Array<{ cluster: string; endpoint: string; reason: string }> = [];
  url = '';

  record(c: Call): void {
    const labels = labelsOf(c);
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, count: 0, sum: 0, buckets: DURATION_BUCKETS.map(() => 0) };
      this.series.set(key, s);
    }
    const n = c.count ?? 1;
    s.count += n;
    s.sum += c.ms * n;
    DURATION_BUCKETS.forEach((le, i) => {
      if (c.ms <= le && s) s.buckets[i] = (s.buckets[i] ?? 0) + n;
    });
  }

  recordTcp(c: TcpCall): void {
    const labels = tcpLabelsOf(c);
    const key = JSON.stringify(labels);
    const zero = () => ({
      labels,
      values: {
        istio_tcp_sent_bytes_total: 0,
        istio_tcp_received_bytes_total: 0,
        istio_tcp_connections_opened_total: 0,
        istio_tcp_connections_closed_total: 0,
      },
    });
    const s = this.tcp.get(key) ?? zero();
    this.tcp.set(key, s);
    s.values.istio_tcp_sent_bytes_total += c.sent;
    s.values.istio_tcp_received_bytes_total += c.received;
    s.values.istio_tcp_connections_opened_total += c.opened ?? 0;
    s.values.istio_tcp_connections_closed_total += c.closed ?? 0;
  }

  /** The sidecar restarted: every counter back to zero. */
  reset(): void {
    this.series.clear();
    this.tcp.clear();
  }

  text(): string {
    const lines = [
      '# HELP istio_requests_total Total requests.',
      '# TYPE istio_requests_total counter',
    ];
    for (const s of this.series.values())
      lines.push(`istio_requests_total${render(s.labels)} ${s.count}`);
    lines.push('# HELP istio_request_duration_milliseconds Request duration.');
    lines.push('# TYPE istio_request_duration_milliseconds histogram');
    for (const s of this.series.values()) {
      // The stored counts are already cumulative (a sample is in every bucket it fits).
      DURATION_BUCKETS.forEach((le, i) => {
        lines.push(
          `istio_request_duration_milliseconds_bucket${render(s.labels, ['le', String(le)])} ${s.buckets[i] ?? 0}`,
        );
      });
      lines.push(
        `istio_request_duration_milliseconds_bucket${render(s.labels, ['le', '+Inf'])} ${s.count}`,
      );
      lines.push(`istio_request_duration_milliseconds_sum${render(s.labels)} ${s.sum}`);
      lines.push(`istio_request_duration_milliseconds_count${render(s.labels)} ${s.count}`);
    }
    for (const name of TCP_COUNTERS) {
      lines.push(`# TYPE ${name} counter`);
      for (const s of this.tcp.values()) lines.push(`${name}${render(s.labels)} ${s.values[name]}`);
    }
    lines.push('# TYPE ferry_proxy_endpoint_unhealthy gauge');
    for (const u of this.unhealthy) {
      const labels = { cluster_name: u.cluster, endpoint: u.endpoint, reason: u.reason };
      lines.push(`ferry_proxy_endpoint_unhealthy${render(labels)} 1`);
    }
    return `${lines.join('\n')}\n`;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const answer = () => {
        if (req.url !== '/stats/prometheus') {
          res.writeHead(404).end();
        } else if (this.failing) {
          res.writeHead(503).end('down\n');
        } else {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.text());
        }
      };
      if (this.delayMs > 0) setTimeout(answer, this.delayMs).unref();
      else answer();
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/stats/prometheus`;
    return this.url;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
