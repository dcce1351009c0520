/**
 * Istio's standard metrics, with Istio's names, labels and buckets, so that the dashboards
 * and alerts people already have for Istio work on Ferry unchanged:
 * https://istio.io/latest/docs/reference/config/metrics/
 *
 * Recording costs no string building in the common case: the labels that depend only on the
 * configuration (who this workload is, which service a cluster stands for) are worked out
 * once per cluster; a request adds only its response code, gRPC status and flags, and the
 * metric children for each combination are found by number in small maps and kept.
 * Cardinality is bounded: past a limit of combinations per cluster, new ones are counted
 * under response_code "other".
 */
import type {
  Counter,
  CounterChild,
  Histogram,
  HistogramChild,
  MetricsRegistry,
} from '../../metrics/index.js';
import { requestPrincipal } from '../tls/index.js';

/** Milliseconds, as Istio's istio_request_duration_milliseconds. */
export const DURATION_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];
/** Bytes, as Istio's istio_request_bytes / istio_response_bytes. */
export const SIZE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000];

/** Istio's label set, in order. */
export const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

/** Istio's TCP metrics carry the same labels less the HTTP ones. */
export const TCP_LABELS = ISTIO_LABELS.filter(
  (l) => l !== 'request_protocol' && l !== 'response_code' && l !== 'grpc_response_status',
);

const UNKNOWN = 'unknown';
/** Distinct (code, gRPC status, flags, peer) combinations kept per cluster before "other". */
const MAX_COMBINATIONS = 200;

/** Who this sidecar's workload is. */
export interface WorkloadIdentity {
  readonly service: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Its SPIFFE ID when it has a certificate. */
  readonly principal?: () => string | undefined;
  /** The DNS suffix of service names (default cluster.local). */
  readonly domain?: string;
}

/** What a finished request tells the metrics (an Exchange, or a local reply). */
export interface RequestOutcome {
  readonly clusterName: string | undefined;
  readonly status: number;
  readonly grpc: boolean;
  readonly grpcStatus: string;
  readonly flags: string;
  readonly startedAt: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly downstreamSocket: unknown;
}

interface Children {
  readonly requests: CounterChild;
  readonly duration: HistogramChild;
  readonly requestSize: HistogramChild;
  readonly responseSize: HistogramChild;
}

/** The labels of one cluster, as seen from one side, with its children by outcome. */
class LabelGroup {
  /** The common case: no gRPC status, no flags, no peer identity; by response code. */
  readonly byStatus = new Map<number, Children>();
  readonly byOutcome = new Map<string, Children>();
  constructor(readonly fixed: Record<(typeof ISTIO_LABELS)[number], string>) {}
}

/** Parses `outbound|PORT|SUBSET|HOST` / `inbound|PORT||` (Envoy/Istio cluster names). */
function parseClusterName(name: string): { direction: string; subset: string; host: string } {
  const parts = name.split('|');
  return { direction: parts[0] ?? '', subset: parts[2] ?? '', host: parts[3] ?? '' };
}

/** Istio's TCP metrics of one connection's labels. */
interface TcpChildren {
  readonly sent: CounterChild;
  readonly received: CounterChild;
  readonly opened: CounterChild;
  readonly closed: CounterChild;
}

/** What a proxied TCP connection tells the metrics. */
export interface TcpConnectionOutcome {
  readonly clusterName: string;
  readonly sent: number;
  readonly received: number;
  readonly downstreamSocket: unknown;
  readonly failed: boolean;
}

export class IstioMetrics {
  private readonly tcpSent: Counter;
  private readonly tcpReceived: Counter;
  private readonly tcpOpened: Counter;
  private readonly tcpClosed: Counter;
  private readonly tcpGroups = new Map<string, TcpChildren>();
  private readonly requests: Counter;
  private readonly duration: Histogram;
  private readonly requestSize: Histogram;
  private readonly responseSize: Histogram;
  /** Label groups by cluster name, one map per reporter (no key to build per request). */
  private readonly groups = {
    source: new Map<string, LabelGroup>(),
    destination: new Map<string, LabelGroup>(),
  };
  private readonly workloadName: string;

  constructor(
    registry: MetricsRegistry,
    private readonly self: WorkloadIdentity,
  ) {
    const labels = ISTIO_LABELS as unknown as string[];
    this.requests = registry.counter(
      'istio_requests_total',
      'Requests handled, by source and destination (Istio standard metric).',
      labels,
    );
    this.duration = registry.histogram(
      'istio_request_duration_milliseconds',
      'Request duration in milliseconds (Istio standard metric).',
      labels,
      DURATION_BUCKETS_MS,
    );
    this.requestSize = registry.histogram(
      'istio_request_bytes',
      'Request body sizes in bytes (Istio standard metric).',
      labels,
      SIZE_BUCKETS,
    );
    this.responseSize = registry.histogram(
      'istio_response_bytes',
      'Response body sizes in bytes (Istio standard metric).',
      labels,
      SIZE_BUCKETS,
    );
    const version = self.labels.version;
    this.workloadName = version ? `${self.service}-${version}` : self.service;
    const tcpLabels = TCP_LABELS as unknown as string[];
    this.tcpSent = registry.counter(
      'istio_tcp_sent_bytes_total',
      'Bytes sent to the downstream peer of TCP connections (Istio standard metric).',
      tcpLabels,
    );
    this.tcpReceived = registry.counter(
      'istio_tcp_received_bytes_total',
      'Bytes received from the downstream peer of TCP connections (Istio standard metric).',
      tcpLabels,
    );
    this.tcpOpened = registry.counter(
      'istio_tcp_connections_opened_total',
      'TCP connections opened (Istio standard metric).',
      tcpLabels,
    );
    this.tcpClosed = registry.counter(
      'istio_tcp_connections_closed_total',
      'TCP connections closed (Istio standard metric).',
      tcpLabels,
    );
  }

  /** TCP connection recorders for one side: opened (at once) and closed (with bytes). */
  tcpRecorder(reporter: 'source' | 'destination'): {
    opened(clusterName: string, downstreamSocket: unknown): void;
    closed(x: TcpConnectionOutcome): void;
  } {
    return {
      opened: (clusterName, socket) => this.tcpChildren(reporter, clusterName, socket).opened.inc(),
      closed: (x) => {
        const c = this.tcpChildren(reporter, x.clusterName, x.downstreamSocket);
        c.closed.inc();
        c.sent.inc(x.sent);
        c.received.inc(x.received);
      },
    };
  }

  private tcpChildren(
    reporter: 'source' | 'destination',
    clusterName: string,
    socket: unknown,
  ): TcpChildren {
    const principal = reporter === 'destination' ? requestPrincipal(socket) : undefined;
    const key = `${reporter}|${clusterName}|${principal ?? ''}`;
    let children = this.tcpGroups.get(key);
    if (children) return children;
    const labels = { ...this.group(reporter, clusterName).fixed };
    labels.reporter = reporter;
    if (reporter === 'destination') {
      labels.source_principal = principal ?? UNKNOWN;
      labels.source_workload_namespace = principal ? namespaceOf(principal) : UNKNOWN;
      labels.connection_security_policy = principal ? 'mutual_tls' : 'none';
    }
    labels.response_flags = '-';
    const values = TCP_LABELS.map((name) => labels[name]);
    children = {
      sent: this.tcpSent.labels(...values),
      received: this.tcpReceived.labels(...values),
      opened: this.tcpOpened.labels(...values),
      closed: this.tcpClosed.labels(...values),
    };
    if (this.tcpGroups.size < MAX_COMBINATIONS * 10) this.tcpGroups.set(key, children);
    return children;
  }

  /** A recorder for one side: "source" (outbound listener) or "destination" (inbound). */
  recorder(reporter: 'source' | 'destination'): (x: RequestOutcome) => void {
    return (x) => this.record(reporter, x);
  }

  private record(reporter: 'source' | 'destination', x: RequestOutcome): void {
    const group = this.group(reporter, x.clusterName ?? '');
    const principal = reporter === 'destination' ? requestPrincipal(x.downstreamSocket) : undefined;
    let children: Children | undefined;
    if (!x.grpcStatus && !x.flags && principal === undefined) {
      children = group.byStatus.get(x.status);
      if (!children) {
        children = this.children(group, '', reporter, x, principal);
        group.byStatus.set(x.status, children);
      }
    } else {
      // Less common outcomes are keyed by a short string of what varies.
      const key = `${x.status}|${x.grpcStatus}|${x.flags}|${principal ?? ''}`;
      children = group.byOutcome.get(key) ?? group.byOutcome.get('other');
      if (!children) children = this.children(group, key, reporter, x, principal);
    }
    children.requests.inc();
    children.duration.observe(performance.now() - x.startedAt);
    children.requestSize.observe(x.requestBytes);
    children.responseSize.observe(x.responseBytes);
  }

  private children(
    group: LabelGroup,
    key: string,
    reporter: string,
    x: RequestOutcome,
    principal: string | undefined,
  ): Children {
    const overflow = group.byOutcome.size + group.byStatus.size >= MAX_COMBINATIONS;
    const labels = { ...group.fixed };
    labels.reporter = reporter;
    labels.request_protocol = x.grpc ? 'grpc' : 'http';
    labels.response_code = overflow ? 'other' : String(x.status);
    labels.grpc_response_status = overflow ? '' : x.grpcStatus;
    labels.response_flags = overflow ? '-' : x.flags || '-';
    if (reporter === 'destination') {
      labels.source_principal = principal ?? UNKNOWN;
      labels.source_workload_namespace = principal ? namespaceOf(principal) : UNKNOWN;
      labels.connection_security_policy = principal ? 'mutual_tls' : 'none';
    }
    const values = ISTIO_LABELS.map((name) => labels[name]);
    const children: Children = {
      requests: this.requests.labels(...values),
      duration: this.duration.labels(...values),
      requestSize: this.requestSize.labels(...values),
      responseSize: this.responseSize.labels(...values),
    };
    if (key || overflow) group.byOutcome.set(overflow ? 'other' : key, children);
    return children;
  }

  private group(reporter: 'source' | 'destination', clusterName: string): LabelGroup {
    let group = this.groups[reporter].get(clusterName);
    if (group) return group;
    const self = this.self;
    const me = {
      workload: this.workloadName,
      namespace: self.namespace,
      principal: self.principal?.() ?? UNKNOWN,
      app: self.labels.app ?? self.service,
      version: self.labels.version ?? UNKNOWN,
      service: self.service,
    };
    const domain = self.domain ?? 'cluster.local';
    const { subset, host } = parseClusterName(clusterName);
    const fixed = Object.fromEntries(ISTIO_LABELS.map((n) => [n, UNKNOWN])) as LabelGroup['fixed'];
    fixed.source_cluster = 'local';
    fixed.destination_cluster = 'local';
    fixed.grpc_response_status = '';
    if (reporter === 'source') {
      fixed.source_workload = me.workload;
      fixed.source_workload_namespace = me.namespace;
      fixed.source_principal = me.principal;
      fixed.source_app = me.app;
      fixed.source_version = me.version;
      fixed.source_canonical_service = me.service;
      if (host) {
        const [name = UNKNOWN, namespace = UNKNOWN] = host.split('.');
        fixed.destination_service = host;
        fixed.destination_service_name = name;
        fixed.destination_service_namespace = namespace;
        fixed.destination_canonical_service = name;
        fixed.destination_app = name;
        fixed.destination_workload_namespace = namespace;
        // A subset named after a version (v1, v2...) says which version was called.
        if (subset) fixed.destination_version = subset;
      }
      fixed.connection_security_policy = UNKNOWN;
    } else {
      fixed.destination_workload = me.workload;
      fixed.destination_workload_namespace = me.namespace;
      fixed.destination_principal = me.principal;
      fixed.destination_app = me.app;
      fixed.destination_version = me.version;
      fixed.destination_service = `${self.service}.${self.namespace}.svc.${domain}`;
      fixed.destination_service_name = self.service;
      fixed.destination_service_namespace = self.namespace;
      fixed.destination_canonical_service = self.service;
    }
    group = new LabelGroup(fixed);
    this.groups[reporter].set(clusterName, group);
    return group;
  }
}

/** The namespace in spiffe://<td>/ns/<ns>/sa/<sa>. */
function namespaceOf(principal: string): string {
  const at = principal.indexOf('/ns/');
  if (at < 0) return UNKNOWN;
  const end = principal.indexOf('/', at + 4);
  return principal.slice(at + 4, end < 0 ? undefined : end);
}
