/**
 * Istio's standard metrics, with Istio's names, labels and buckets, so that the dashboards
 * and alerts people already have for Istio (and Kiali's graph) work on Ferry unchanged:
 * https://istio.io/latest/docs/reference/config/metrics/
 *
 * Both peers are named on both sides (see peer-workloads.ts: from EDS metadata and the
 * caller's verified SPIFFE ID, nothing on the wire). Recording costs no string building in
 * the common case: the labels that depend only on the configuration (who this workload is,
 * which service a cluster stands for, who the picked host or the verified caller is) are
 * worked out once per host (source) or per caller and cluster (destination); a request adds
 * only its response code, gRPC status and flags, and the metric children for each
 * combination are found by number in small maps and kept. Cardinality is bounded: past a
 * limit of combinations per label group, new ones are counted under response_code "other".
 */

import { DEFAULT_CLUSTER_NAME, workloadNames } from '../../mesh/index.js';
import type {
  Counter,
  CounterChild,
  Histogram,
  HistogramChild,
  MetricsRegistry,
} from '../../metrics/index.js';
import { requestPrincipal } from '../tls/index.js';
import {
  endpointPeer,
  type IndexedCluster,
  PeerIndex,
  type PeerWorkload,
  UNKNOWN,
  UNKNOWN_PEER,
} from './peer-workloads.js';

/** Milliseconds, as Istio's istio_request_duration_milliseconds. */
export const DURATION_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];
/** Bytes, as Istio's istio_request_bytes / istio_response_bytes. */
export const SIZE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000];

/** Istio's label set, in Istio's order. */
export const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
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
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

type IstioLabel = (typeof ISTIO_LABELS)[number];
type Labels = Record<IstioLabel, string>;

/** Istio's TCP metrics carry the same labels less the HTTP ones. */
export const TCP_LABELS = ISTIO_LABELS.filter(
  (l) => l !== 'request_protocol' && l !== 'response_code' && l !== 'grpc_response_status',
);

/** Distinct (code, gRPC status, flags) combinations kept per label group before "other". */
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

/** The upstream host a request went to (a Host: its EDS `metadata` names its workload). */
export type UpstreamHostLike = object;

function metadataOf(host: UpstreamHostLike): object | undefined {
  return (host as { readonly metadata?: object }).metadata;
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
  /** The host the last attempt went to (source side), and whether over mTLS. */
  readonly upstreamHost?: UpstreamHostLike | undefined;
  readonly upstreamSecure?: boolean;
}

interface Children {
  readonly requests: CounterChild;
  readonly duration: HistogramChild;
  readonly requestSize: HistogramChild;
  readonly responseSize: HistogramChild;
}

/** Istio's TCP metrics of one connection's labels. */
interface TcpChildren {
  readonly sent: CounterChild;
  readonly received: CounterChild;
  readonly opened: CounterChild;
  readonly closed: CounterChild;
}

/** The labels of one peer and cluster, as seen from one side, with its children by outcome. */
class LabelGroup {
  /** The common case: no gRPC status, no flags; by response code. */
  readonly byStatus = new Map<number, Children>();
  readonly byOutcome = new Map<string, Children>();
  tcp: TcpChildren | undefined = undefined;
  tcpFailed: TcpChildren | undefined = undefined;
  constructor(readonly fixed: Readonly<Labels>) {}
}

/** A source-side group, kept on the host (weakly) with what it was built from. */
interface HostGroup {
  readonly generation: number;
  readonly metadata: object | undefined;
  readonly secure: boolean;
  readonly clusterName: string;
  readonly group: LabelGroup;
}

/** Clusters that stand for no service: Istio labels their traffic with the cluster's name. */
const CATCH_ALL_CLUSTERS: ReadonlySet<string> = new Set(['PassthroughCluster', 'BlackHoleCluster']);

/** Parses `outbound|PORT|SUBSET|HOST` / `inbound|PORT||` (Envoy/Istio cluster names). */

function serviceOfCluster(name: string): string {
  return name.split('|')[3] ?? '';
}

/** What a proxied TCP connection tells the metrics. */
export interface TcpConnectionOutcome {
  readonly clusterName: string;
  readonly sent: number;
  readonly received: number;
  readonly downstreamSocket: unknown;
  readonly failed: boolean;
  readonly upstreamHost?: UpstreamHostLike | undefined;
  readonly upstreamSecure?: boolean;
}

/** TCP connection recorders for one side: opened (at once) and closed (with bytes). */
export interface TcpRecorder {
  opened(
    clusterName: string,
    downstreamSocket: unknown,
    upstreamHost?: UpstreamHostLike,
    upstreamSecure?: boolean,
  ): void;
  closed(x: TcpConnectionOutcome): void;
}

export class IstioMetrics {
  private readonly tcpSent: Counter;
  private readonly tcpReceived: Counter;
  private readonly tcpOpened: Counter;
  private readonly tcpClosed: Counter;
  private readonly requests: Counter;
  private readonly duration: Histogram;
  private readonly requestSize: Histogram;
  private readonly responseSize: Histogram;
  private readonly me: ReturnType<typeof workloadNames>;
  /** Bumped by configure(): groups built before are rebuilt on their next use. */
  private generation = 0;
  private index = PeerIndex.EMPTY;
  private clusterName = DEFAULT_CLUSTER_NAME;
  /** Off (mesh.telemetry.peerMetadata false): hosts are not named, callers by principal only. */
  private peers = true;
  /** Source side: per picked host; and per cluster for requests that reached no host. */
  private readonly hostGroups = new WeakMap<object, HostGroup>();
  private readonly noHostGroups = new Map<string, LabelGroup>();
  /** Destination side: plaintext callers per cluster; mTLS callers per caller, per cluster. */
  private readonly plaintextGroups = new Map<string, LabelGroup>();
  private readonly callerGroups = new Map<PeerWorkload, Map<string, LabelGroup>>();

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
    this.me = workloadNames(self.service, self.labels);
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

  /**
   * Takes a new configuration: the workloads EDS names (callers are looked up among them)
   * and this sidecar's cluster name. Label groups are rebuilt as they are next used.
   */
  configure(
    clusters: Iterable<IndexedCluster>,
    clusterName = DEFAULT_CLUSTER_NAME,
    peers = true,
  ): void {
    this.index = peers ? PeerIndex.build(clusters) : PeerIndex.EMPTY;
    this.peers = peers;
    this.clusterName = clusterName;
    this.generation++;
    this.noHostGroups.clear();
    this.plaintextGroups.clear();
    this.callerGroups.clear();
  }

  /** TCP connection recorders for one side. */
  tcpRecorder(reporter: 'source' | 'destination'): TcpRecorder {
    return {
      opened: (clusterName, socket, host, secure) =>
        this.tcpChildren(
          this.groupOf(reporter, clusterName, socket, host, secure),
          false,
        ).opened.inc(),
      closed: (x) => {
        const group = this.groupOf(
          reporter,
          x.clusterName,
          x.downstreamSocket,
          x.upstreamHost,
          x.upstreamSecure,
        );
        const c = this.tcpChildren(group, x.failed);
        c.closed.inc();
        c.sent.inc(x.sent);
        c.received.inc(x.received);
      },
    };
  }

  private tcpChildren(group: LabelGroup, failed: boolean): TcpChildren {
    const kept = failed ? group.tcpFailed : group.tcp;
    if (kept) return kept;
    const labels: Labels = { ...group.fixed, response_flags: failed ? 'UF' : '-' };
    const values = TCP_LABELS.map((name) => labels[name]);
    const children: TcpChildren = {
      sent: this.tcpSent.labels(...values),
      received: this.tcpReceived.labels(...values),
      opened: this.tcpOpened.labels(...values),
      closed: this.tcpClosed.labels(...values),
    };
    if (failed) group.tcpFailed = children;
    else group.tcp = children;
    return children;
  }

  /** A recorder for one side: "source" (outbound listener) or "destination" (inbound). */
  recorder(reporter: 'source' | 'destination'): (x: RequestOutcome) => void {
    return reporter === 'source'
      ? (x) =>
          this.record(
            this.sourceGroup(x.clusterName ?? '', x.upstreamHost, x.upstreamSecure === true),
            'source',
            x,
          )
      : (x) =>
          this.record(
            this.destinationGroup(x.clusterName ?? '', x.downstreamSocket),
            'destination',
            x,
          );
  }

  private groupOf(
    reporter: 'source' | 'destination',
    clusterName: string,
    socket: unknown,
    host: UpstreamHostLike | undefined,
    secure: boolean | undefined,
  ): LabelGroup {
    return reporter === 'source'
      ? this.sourceGroup(clusterName, host, secure === true)
      : this.destinationGroup(clusterName, socket);
  }

  private record(group: LabelGroup, reporter: string, x: RequestOutcome): void {
    let children: Children | undefined;
    if (!x.grpcStatus && !x.flags) {
      children = group.byStatus.get(x.status);
      if (!children) {
        children = this.children(group, '', reporter, x);
        group.byStatus.set(x.status, children);
      }
    } else {
      // Less common outcomes are keyed by a short string of what varies.
      const key = `${x.status}|${x.grpcStatus}|${x.flags}`;
      children = group.byOutcome.get(key) ?? group.byOutcome.get('other');
      if (!children) children = this.children(group, key, reporter, x);
    }
    children.requests.inc();
    children.duration.observe(performance.now() - x.startedAt);
    children.requestSize.observe(x.requestBytes);
    children.responseSize.observe(x.responseBytes);
  }

  private children(group: LabelGroup, key: string, reporter: string, x: RequestOutcome): Children {
    const overflow = group.byOutcome.size + group.byStatus.size >= MAX_COMBINATIONS;
    const labels: Labels = { ...group.fixed };
    labels.reporter = reporter;
    labels.request_protocol = x.grpc ? 'grpc' : 'http';
    labels.response_code = overflow ? 'other' : String(x.status);
    labels.grpc_response_status = overflow ? '' : x.grpcStatus;
    labels.response_flags = overflow ? '-' : x.flags || '-';
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

  /** The source side of a request to `host` (undefined: it reached none) of a cluster. */
  private sourceGroup(
    clusterName: string,
    host: UpstreamHostLike | undefined,
    secure: boolean,
  ): LabelGroup {
    if (host === undefined || !this.peers) {
      let group = this.noHostGroups.get(clusterName);
      if (!group) {
        group = new LabelGroup(this.sourceLabels(clusterName, UNKNOWN_PEER, false));
        this.noHostGroups.set(clusterName, group);
      }
      return group;
    }
    const kept = this.hostGroups.get(host);
    const metadata = metadataOf(host);
    if (
      kept !== undefined &&
      kept.generation === this.generation &&
      kept.metadata === metadata &&
      kept.secure === secure &&
      kept.clusterName === clusterName
    ) {
      return kept.group;
    }
    const peer = endpointPeer(metadata, secure);
    const group = new LabelGroup(this.sourceLabels(clusterName, peer, secure));
    this.hostGroups.set(host, {
      generation: this.generation,
      metadata,
      secure,
      clusterName,
      group,
    });
    return group;
  }

  /** The destination side of a request from the caller on `downstream`. */
  private destinationGroup(clusterName: string, downstream: unknown): LabelGroup {
    const principal = requestPrincipal(downstream);
    if (principal === undefined) {
      let group = this.plaintextGroups.get(clusterName);
      if (!group) {
        group = new LabelGroup(this.destinationLabels(UNKNOWN_PEER, false));
        this.plaintextGroups.set(clusterName, group);
      }
      return group;
    }
    const caller = this.index.lookup(principal, downstream);
    let byCluster = this.callerGroups.get(caller);
    if (!byCluster) {
      byCluster = new Map();
      this.callerGroups.set(caller, byCluster);
    }
    let group = byCluster.get(clusterName);
    if (!group) {
      group = new LabelGroup(this.destinationLabels(caller, true));
      byCluster.set(clusterName, group);
    }
    return group;
  }

  /** This workload, as one side of a series. */
  private mine(secure: boolean): PeerWorkload {
    const me = this.me;
    return {
      workload: me.workload,
      namespace: this.self.namespace,
      app: me.app,
      version: me.version,
      canonicalService: me.canonicalService,
      canonicalRevision: me.canonicalRevision,
      cluster: this.clusterName,
      // Istio names the local identity only on an mTLS connection.
      principal: secure ? (this.self.principal?.() ?? UNKNOWN) : UNKNOWN,
    };
  }

  private sourceLabels(clusterName: string, peer: PeerWorkload, secure: boolean): Labels {
    const host = serviceOfCluster(clusterName);
    // Traffic to no service of the mesh (an original destination passed through, or
    // dropped) is named by its cluster, as Istio's stats filter does for PassthroughCluster
    // and BlackHoleCluster, so it is told apart from a peer that is just unknown.
    const catchAll = CATCH_ALL_CLUSTERS.has(clusterName);
    const [name = catchAll ? clusterName : UNKNOWN, namespace = UNKNOWN] = host
      ? host.split('.')
      : [];
    return {
      reporter: 'source',
      ...sideLabels('source', this.mine(secure)),
      ...sideLabels('destination', peer),
      destination_service: host || (catchAll ? clusterName : UNKNOWN),
      destination_service_name: name,
      destination_service_namespace: namespace,
      request_protocol: UNKNOWN,
      response_code: UNKNOWN,
      grpc_response_status: '',
      response_flags: '-',
      // Istio: "unknown when report is from source", the caller cannot see the server's policy.
      connection_security_policy: UNKNOWN,
    };
  }

  private destinationLabels(caller: PeerWorkload, secure: boolean): Labels {
    const self = this.self;
    const domain = self.domain ?? 'cluster.local';
    return {
      reporter: 'destination',
      ...sideLabels('source', caller),
      ...sideLabels('destination', this.mine(secure)),
      destination_service: `${self.service}.${self.namespace}.svc.${domain}`,
      destination_service_name: self.service,
      destination_service_namespace: self.namespace,
      request_protocol: UNKNOWN,
      response_code: UNKNOWN,
      grpc_response_status: '',
      response_flags: '-',
      connection_security_policy: secure ? 'mutual_tls' : 'none',
    };
  }
}

type SideLabels<S extends string> = Record<
  `${S}_${'workload' | 'workload_namespace' | 'principal' | 'app' | 'version' | 'canonical_service' | 'canonical_revision' | 'cluster'}`,
  string
>;

function sideLabels<S extends 'source' | 'destination'>(side: S, p: PeerWorkload): SideLabels<S> {
  return {
    [`${side}_workload`]: p.workload,
    [`${side}_workload_namespace`]: p.namespace,
    [`${side}_principal`]: p.principal,
    [`${side}_app`]: p.app,
    [`${side}_version`]: p.version,
    [`${side}_canonical_service`]: p.canonicalService,
    [`${side}_canonical_revision`]: p.canonicalRevision,
    [`${side}_cluster`]: p.cluster,
  } as SideLabels<S>;
}
