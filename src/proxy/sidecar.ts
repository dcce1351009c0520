/**
 * The sidecar, wired: listeners first (so ports chosen as 0 are known and announced),
 * then the xDS client, whose every complete configuration is compiled and swapped in
 * whole; admin, readiness and metrics ports beside. Stops with a graceful drain.
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ChannelCredentials } from '@grpc/grpc-js';
import {
  ADDON_BUILD_COMMAND,
  originalDestination,
  originalDestinationAvailable,
} from '../kube/capture/index.js';
import { type Logger, setLogLevel } from '../log/index.js';
import type { Protocol } from '../mesh/index.js';
import { MetricsRegistry, registerBuildInfo } from '../metrics/index.js';
import { FERRY_VERSION } from '../version/index.js';
import { nodeMetadataFor } from '../xds/index.js';
import { XdsClient, type XdsClient as XdsClientType } from '../xds-client/index.js';
import { createAdminHandler, describePem, type LocalServer, listenLocal } from './admin/index.js';
import type { RuntimeCluster } from './cluster/index.js';
import {
  createConnectHandler,
  createRequestHandler,
  createUpgradeHandler,
  DEFAULT_MAX_SHADOWS,
  DEFAULT_RETRY_BUFFER_LIMIT,
  type Denial,
  IstioMetrics,
  ProxyStats,
  RequestMirror,
  RouteFilters,
  type RouteView,
} from './http/index.js';
import type { Host } from './lb/index.js';
import {
  checkLimits,
  DEFAULT_OPAQUE_PORTS,
  DETECTION_TIMEOUT_MS,
  detectProtocol,
  type HttpListener,
  LIMIT,
  LIMIT_NAMES,
  LimitCounters,
  type LimitName,
  type ListenerLimits,
  type ListenerTls,
  listenHttp,
  rawSocket,
  readFirstBytes,
  requestHost,
  requestRawSocket,
  usableBindAddress,
} from './listener/index.js';
import { AppProber, type AppProbes } from './prober/index.js';
import {
  compileRuntime,
  type InboundDestination,
  InboundPorts,
  type InboundPortTarget,
  inboundDestination,
  type RuntimeConfig,
  validateResource,
} from './runtime/index.js';
import { TapHub, TapPoint } from './tap/index.js';
import { proxyTcp, proxyTcpTo, type TcpProxyEnv } from './tcp/index.js';
import { LiveTelemetry } from './telemetry/index.js';
import { type CertificateSource, socketPrincipal, spiffeIds, WorkloadTls } from './tls/index.js';
import type { TracingOptions } from './tracing/index.js';
import { UpstreamPools } from './upstream/index.js';

export interface SidecarOptions {
  /** Control plane address, host:port. */
  readonly xds: string;
  readonly service: string;
  readonly namespace?: string;
  /** xDS node id; default `<service>-<pid>.<namespace>`. */
  readonly id?: string;
  readonly appPort?: number;
  readonly inboundPort?: number;
  readonly outboundPort?: number;
  readonly adminPort?: number;
  readonly metricsPort?: number;
  readonly readyPort?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
  /** The address other sidecars reach this one at (announced); default 127.0.0.1. */
  readonly address?: string;
  /** Where the inbound and outbound listeners bind; default 127.0.0.1. */
  readonly bind?: string;
  readonly zone?: string;
  readonly region?: string;
  /** For a service the mesh file does not declare. */
  readonly servicePort?: number;
  readonly protocol?: Protocol;
  readonly mode?: 'delta' | 'sotw';
  readonly drainMs?: number;
  /** Serve plain HTTP/1.1 with the hand-parsed fast path (default) or node's http server. */
  readonly http1?: 'fast' | 'node';
  /**
   * Access log: a file path, or '-' for standard output; off when absent. The default: an
   * access log set in the xDS config (the mesh file's telemetry) takes precedence.
   */
  readonly accessLog?: string;
  readonly log: Logger;
  /**
   * The workload's certificate (from the identity client): with it, mTLS to meshed
   * endpoints and TLS on the inbound port as the control plane's config says; without it,
   * plaintext only.
   */
  readonly certificates?: CertificateSource;
  /** How to reach the control plane (TLS with its identity checked); plaintext when absent. */
  readonly xdsCredentials?: ChannelCredentials;
  /**
   * Local ports that carry TCP to a mesh service (`target`: `name[.namespace]:port`), for
   * apps on a machine without traffic capture, as Consul's upstream bindings do.
   */
  readonly tcpForwards?: ReadonlyArray<{ readonly port: number; readonly target: string }>;
  /**
   * Ports whose connections are never held for protocol detection (server-first protocols),
   * inbound and outbound; default Linkerd's (DEFAULT_OPAQUE_PORTS).
   */
  readonly opaquePorts?: readonly number[];
  /**
   * OpenTelemetry traces (off when absent; the SDK is not even loaded). The default: tracing
   * set in the xDS config (the mesh file's telemetry) takes precedence.
   */
  readonly tracing?: Omit<TracingOptions, 'serviceName' | 'serviceNamespace'>;
  readonly random?: () => number;
  /**
   * The downstream listeners' limits (timeouts, head sizes, pipelining, HTTP/2 streams);
   * what is left out keeps its default (DEFAULT_LIMITS: nginx's or Envoy's).
   */
  readonly limits?: Partial<ListenerLimits>;
  /**
   * The app's original probes, moved here by the injector: the metrics port answers them at
   * `/app-health/<container>/<kind>` by running them against the app (at `address`).
   */
  readonly appProbes?: AppProbes;
  /** Called by POST /quitquitquit after the drain (the CLI exits the process). */
  readonly onQuit?: () => void;
  /**
   * Tap points on the listeners for the admin port's /tap (default true). false wires the
   * metrics recorders in directly, as a build without tap would: the benchmark's baseline.
   */
  readonly tap?: boolean;
}

/** HTTP/1.1 or HTTP/2 by a connection's first bytes. */
function isHttp(first: Buffer): boolean {
  const p = detectProtocol(first);
  return p === 'http1' || p === 'http2';
}

function memoryStats(): Record<string, number> {
  const m = process.memoryUsage();
  return {
    memory_rss_bytes: m.rss,
    memory_heap_used_bytes: m.heapUsed,
    memory_heap_total_bytes: m.heapTotal,
    memory_external_bytes: m.external,
    memory_array_buffers_bytes: m.arrayBuffers,
  };
}

const EMPTY_VIEW: RouteView = { table: undefined, clusters: new Map() };

/** On an inbound TCP socket: where it was sent, when not to the default app port. */
const INBOUND_DESTINATION = Symbol('ferry.inbound.destination');
type DestinationTagged = { [INBOUND_DESTINATION]?: InboundDestination };

/** The SO_ORIGINAL_DST reader, when the addon is built. */
const recoverDestination = originalDestinationAvailable() ? originalDestination : undefined;

export class Sidecar {
  private runtime: RuntimeConfig | undefined;
  private outboundView: RouteView = EMPTY_VIEW;
  private inboundView: RouteView = EMPTY_VIEW;
  /** Where inbound connections sent to the pod's other ports go (per configuration). */
  private inboundPorts: InboundPorts | undefined;
  private draining = false;
  private stopping: Promise<void> | undefined;
  readonly stats = new ProxyStats();
  /** How often each downstream limit acted (timeouts, sizes, pipelining, HTTP/2). */
  readonly limitCounters = new LimitCounters();
  private readonly limits: ListenerLimits;
  /** Shadow copies of mirrored requests, shared by both listeners. */
  private mirror: RequestMirror | undefined;
  readonly pools: UpstreamPools;
  /** The secure context built from the workload's certificate, if it has one. */
  readonly tls: WorkloadTls | undefined;
  private readonly metrics = new MetricsRegistry();
  /** Istio's standard metrics, both reporters; told of each configuration to name peers. */
  private readonly istio: IstioMetrics;
  private xds: XdsClientType | undefined;
  private listeners: HttpListener[] = [];
  private locals: LocalServer[] = [];
  private readonly tcpServers: net.Server[] = [];
  /** Traces and access logs, as the configuration (or else the flags) say. */
  private readonly telemetry: LiveTelemetry;
  /**
   * The first configuration's telemetry starting: the sidecar is ready only once the tracer
   * the configuration asks for runs, so the app's first requests are traced as configured.
   */
  private firstTelemetry: Promise<void> | undefined;
  private telemetryReady = false;
  private lastTelemetry: Promise<void> = Promise.resolve();
  ports = { inbound: 0, outbound: 0, admin: 0, metrics: 0, ready: 0 };
  readonly nodeId: string;
  /** Ports never held for protocol detection. */
  private readonly opaquePorts: ReadonlySet<number>;
  /** Both listeners' tap points, when tap is on. */
  private tapHub: TapHub | undefined;

  private constructor(private readonly options: SidecarOptions) {
    const ns = options.namespace ?? 'default';
    this.nodeId = options.id ?? `${options.service}-${process.pid}.${ns}`;
    this.opaquePorts = new Set(options.opaquePorts ?? DEFAULT_OPAQUE_PORTS);
    this.limits = checkLimits(options.limits ?? {});
    // `--http1 node` is the libraries' path end to end: node's HTTP server downstream and
    // undici upstream.
    this.pools = new UpstreamPools(options.http1 === 'node' ? 'undici' : 'ferry');
    this.tls = options.certificates ? new WorkloadTls(options.certificates) : undefined;
    registerBuildInfo(this.metrics, 'proxy');
    this.istio = new IstioMetrics(this.metrics, {
      service: options.service,
      namespace: ns,
      labels: options.labels ?? {},
      principal: () => this.principal,
    });
    this.telemetry = new LiveTelemetry(
      {
        tracing: options.tracing,
        accessLog: options.accessLog,
        service: options.service,
        namespace: ns,
      },
      options.log,
      () => this.rebuildViews(),
    );
  }

  /** The route views with the routes and the telemetry in force; swapped whole. */
  private rebuildViews(): void {
    const runtime = this.runtime;
    if (!runtime) return;
    // Every view has the same fields, set or undefined, so the data path sees one shape.
    const out = this.telemetry.of('outbound');
    const inb = this.telemetry.of('inbound');
    this.outboundView = { ...runtime.outbound, tracing: out.tracing, accessLog: out.accessLog };
    this.inboundView = { ...runtime.inbound, tracing: inb.tracing, accessLog: inb.accessLog };
    const o = this.options;
    this.inboundPorts = InboundPorts.compile(
      runtime.source,
      this.inboundView,
      o.service,
      o.namespace ?? 'default',
      this.opaquePorts,
      o.random ?? Math.random,
    );
  }

  /**
   * Notes where an inbound connection was sent (SO_ORIGINAL_DST), once, as it is accepted,
   * when it is another port of the pod than the configuration's app port.
   */
  private tagInboundPort(socket: net.Socket): void {
    const ports = this.inboundPorts;
    if (!recoverDestination || !ports?.active) return;
    const to = recoverDestination(socket);
    if (to && to.port !== this.ports.inbound && to.port !== ports.defaultPort) {
      (socket as DestinationTagged)[INBOUND_DESTINATION] = inboundDestination(to.address, to.port);
    }
  }

  /** Where a connection (any layer of it) sent to another port of the pod goes. */
  private inboundTarget(socket: object): InboundPortTarget | undefined {
    const to = (rawSocket(socket) as DestinationTagged)[INBOUND_DESTINATION];
    return to === undefined ? undefined : this.inboundPorts?.target(to);
  }

  /** The inbound routes for a request: its connection's port of the app. */
  private inboundViewOf(req: Parameters<typeof requestRawSocket>[0]): RouteView {
    const socket = requestRawSocket(req);
    const target = socket ? this.inboundTarget(socket) : undefined;
    if (!target) return this.inboundView;
    return (req.stream !== undefined ? target.http2 : target.http1) ?? this.inboundView;
  }

  static async start(options: SidecarOptions): Promise<Sidecar> {
    const s = new Sidecar(options);
    try {
      await s.listen();
      s.connect();
    } catch (err) {
      await s.stop(0);
      throw err;
    }
    return s;
  }

  get ready(): boolean {
    return this.runtime !== undefined && this.telemetryReady && !this.draining;
  }

  /** Resolves once the first complete configuration is applied, its tracer included. */
  async waitReady(timeoutMs: number): Promise<void> {
    if (!this.runtime) await this.xds?.ready(timeoutMs);
    await this.firstTelemetry;
  }

  /** Resolves once the tracer the configuration in force asks for runs (or failed to start). */
  telemetryApplied(): Promise<void> {
    return this.lastTelemetry;
  }

  get config(): RuntimeConfig | undefined {
    return this.runtime;
  }

  /** Whether a /tap subscriber is connected to either listener now. */
  get tapping(): boolean {
    return this.tapHub?.points.some((p) => p.active) ?? false;
  }

  /** The outbound cluster of `name[.namespace]:port`, looked up per connection. */
  private tcpCluster(target: string): RuntimeCluster | undefined {
    const colon = target.lastIndexOf(':');
    const [name, ns = this.options.namespace ?? 'default'] = target.slice(0, colon).split('.');
    const prefix = `outbound|${target.slice(colon + 1)}||${name}.${ns}.`;
    for (const [clusterName, cluster] of this.runtime?.clusters ?? []) {
      if (clusterName.startsWith(prefix)) return cluster;
    }
    return undefined;
  }

  /** TCP forward listeners' ports, in the order of the tcpForwards option. */
  get tcpForwardPorts(): number[] {
    return this.tcpServers.map((s) => (s.address() as net.AddressInfo).port);
  }

  /** Outlier ejections: logged, counted. */
  private readonly outlierLog = {
    ejected: (cluster: string, host: Host, reason: string, ms: number) => {
      this.stats.ejections++;
      this.options.log.warn(
        { cluster, host: host.key, reason, ejection_ms: Math.round(ms) },
        'upstream host ejected by outlier detection',
      );
    },
    returned: (cluster: string, host: Host) => {
      this.options.log.info({ cluster, host: host.key }, 'upstream host back from ejection');
    },
    health: (cluster: string, host: Host, healthy: boolean, reason: string) => {
      this.options.log[healthy ? 'info' : 'warn'](
        { cluster, host: host.key, reason },
        healthy ? 'upstream host healthy again' : 'upstream host failed its health checks',
      );
    },
  };

  /** This workload's SPIFFE ID, from its current certificate. */
  get principal(): string | undefined {
    const chain = this.options.certificates?.current()?.chain;
    if (!chain) return undefined;
    try {
      return spiffeIds(new X509Certificate(chain).subjectAltName)[0];
    } catch {
      return undefined;
    }
  }

  private async listen(): Promise<void> {
    const o = this.options;
    const random = o.random ?? Math.random;
    // `::` is dual-stack; without IPv6 on the machine it falls back to 0.0.0.0 (logged).
    const bind = await usableBindAddress(o.bind ?? '127.0.0.1', o.log);
    await this.telemetry.start();
    this.mirror = new RequestMirror({
      pools: this.pools,
      random,
      stats: this.stats,
      bodyLimit: DEFAULT_RETRY_BUFFER_LIMIT,
      maxActive: DEFAULT_MAX_SHADOWS,
    });
    const env = {
      pools: this.pools,
      random,
      stats: this.stats,
      retryBufferLimit: DEFAULT_RETRY_BUFFER_LIMIT,
      mirror: this.mirror,
    };
    const istio = this.istio;
    const onDenied = (d: Denial) =>
      o.log.warn(
        {
          rule: d.policy ?? '(no ALLOW rule matched)',
          peer: d.principal ?? 'none',
          method: d.method,
          authority: d.authority,
          path: d.path,
        },
        'request denied by authorization policy',
      );
    const tcpOut = istio.tcpRecorder('source');
    const tcpIn = istio.tcpRecorder('destination');
    // The access log is the listener's in force when the connection closes.
    const tcpEnv = (rec: typeof tcpOut, view: () => RouteView): TcpProxyEnv => ({
      opened: (cluster, socket, to, secure) => rec.opened(cluster.name, socket, to, secure),
      closed: (x) => {
        rec.closed({
          clusterName: x.cluster.name,
          sent: x.sent,
          received: x.received,
          downstreamSocket: x.downstream,
          failed: x.failed,
          upstreamHost: x.host,
          upstreamSecure: x.secure,
        });
        view().accessLog?.tcp(x);
      },
      defaultIdleTimeoutMs: this.limits.tcpIdleTimeoutMs,
      idleTimedOut: () => this.limitCounters.hit(LIMIT.TCP_IDLE_TIMEOUT),
    });
    const inboundTcpEnv = tcpEnv(tcpIn, () => this.inboundView);
    const outboundTcpEnv = tcpEnv(tcpOut, () => this.outboundView);
    const opaqueInbound = (socket: net.Socket, first: Buffer): boolean => {
      const runtime = this.runtime;
      if (!runtime) return false;
      const target = this.inboundTarget(socket);
      const route = runtime.inboundTcp;
      if (target) {
        if (target.kind === 'http') return false;
        // Detected: HTTP is served as HTTP; a TLS connection just decrypted has said
        // nothing yet (its first bytes come next); silence on plaintext is server-first TCP.
        if (target.kind === 'detect') {
          if (first.length === 0 ? (socket as TLSSocket).encrypted === true : isHttp(first))
            return false;
        }
      } else if (!route) return false;
      const cluster = target ? target.cluster : runtime.clusters.get(route!.cluster);
      // Unset: the TCP proxy falls back to the --tcp-idle-timeout default.
      const idleTimeoutMs = route?.idleTimeoutMs;
      const policy = runtime.inboundPolicy?.forPort(this.ports.inbound);
      let rbac = policy?.networkRbac;
      // A TCP connection to another port of an HTTP service: the service's rules still apply
      // (conditions on methods and paths match nothing without a request).
      if (target && (!rbac || rbac.empty)) rbac = policy?.httpRbac;
      if (rbac && !rbac.empty) {
        const principal = socketPrincipal(socket);
        const decision = rbac.evaluate({
          principal,
          method: undefined,
          path: undefined,
          port: this.ports.inbound,
        });
        if (!decision.allowed) {
          this.stats.denied++;
          onDenied({ policy: decision.policy, principal, method: '', authority: '', path: '' });
          socket.destroy();
          return true;
        }
      }
      if (!cluster) socket.destroy();
      else proxyTcp(socket, first, cluster, idleTimeoutMs, inboundTcpEnv);
      return true;
    };
    const outboundAccept = this.outboundRouter(outboundTcpEnv);
    for (const f of o.tcpForwards ?? []) {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        const cluster = this.tcpCluster(f.target);
        if (!cluster) {
          o.log.warn({ target: f.target }, 'no cluster for a TCP forward; connection closed');
          socket.destroy();
          return;
        }
        proxyTcp(socket, undefined, cluster, undefined, outboundTcpEnv);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(f.port, bind, () => resolve());
      });
      this.tcpServers.push(server);
      o.log.info(
        { port: (server.address() as net.AddressInfo).port, target: f.target },
        'TCP forward listening',
      );
    }
    const workloadTls = this.tls;
    const inboundTls: ListenerTls | undefined = workloadTls
      ? {
          mode: () =>
            this.runtime?.inboundPolicy?.forPort(this.ports.inbound)?.mode ?? 'PERMISSIVE',
          context: () => workloadTls.context(),
        }
      : undefined;
    // Requests refused as malformed before routing (400 DPE), on either listener.
    const refused = () => {
      this.stats.downstreamProtocolErrors++;
    };
    // Each listener's handlers with its metrics recorder. Unless tap is off, a tap point
    // swaps the recorder in these objects while someone taps (src/proxy/tap/tap-point.ts).
    const outRecorder = istio.recorder('source');
    const inRecorder = istio.recorder('destination');
    const outView = () => this.outboundView;
    // Inbound: the routes for the port of the app the request's connection was sent to.
    const inView = (req: Parameters<typeof requestRawSocket>[0]) => this.inboundViewOf(req);
    const outHttp = { ...env, view: outView, istio: outRecorder, filters: new RouteFilters() };
    const outUpgrade = { ...env, view: outView, istio: outRecorder };
    const outConnect = { ...env, view: outView, istio: outRecorder };
    const inHttp = {
      ...env,
      view: inView,
      istio: inRecorder,
      inbound: true,
      filters: new RouteFilters(),
      onDenied,
    };
    const inUpgrade = { ...env, view: inView, istio: inRecorder };
    if (o.tap !== false) {
      const self = `${o.service}.${o.namespace ?? 'default'}`;
      const tapOut = new TapPoint('outbound', self, outRecorder, (r) => {
        outHttp.istio = r;
        outUpgrade.istio = r;
        outConnect.istio = r;
      });
      const tapIn = new TapPoint('inbound', self, inRecorder, (r) => {
        inHttp.istio = r;
        inUpgrade.istio = r;
      });
      this.tapHub = new TapHub([tapOut, tapIn], () => ({ node: this.nodeId, workload: self }));
    }
    const limitCounters = this.limitCounters;
    const limitHit = (limit: LimitName) => limitCounters.hit(limit);
    const limits = this.limits;
    const outbound = await listenHttp(
      bind,
      o.outboundPort ?? 15001,
      createRequestHandler(outHttp),
      {
        fastPath: o.http1 !== 'node',
        refused,
        limits,
        limitHit,
        accept: outboundAccept,
        upgrade: createUpgradeHandler(outUpgrade),
        connect: createConnectHandler(outConnect),
      },
    );
    this.listeners.push(outbound);
    const inbound = await listenHttp(bind, o.inboundPort ?? 15006, createRequestHandler(inHttp), {
      fastPath: o.http1 !== 'node',
      refused,
      limits,
      limitHit,
      tls: inboundTls,
      opaque: opaqueInbound,
      accept: (socket) => {
        this.tagInboundPort(socket);
        return false;
      },
      upgrade: createUpgradeHandler(inUpgrade),
    });
    this.listeners.push(inbound);
    const sources = this.adminSources();
    const admin = await listenLocal(
      '127.0.0.1',
      o.adminPort ?? 15000,
      createAdminHandler('admin', sources),
    );
    this.locals.push(admin);
    const metricsHandler = createAdminHandler('metrics', sources);
    // The rewritten probes arrive on the metrics port (Istio's 15020), which capture leaves
    // alone: the kubelet's plaintext reaches it whatever the mTLS mode and the policies.
    const prober =
      o.appProbes && Object.keys(o.appProbes).length > 0
        ? new AppProber(o.appProbes, o.address ?? '127.0.0.1')
        : undefined;
    const metrics = await listenLocal(
      bind,
      o.metricsPort ?? 15020,
      prober
        ? (req, res) => {
            if (!prober.handle(req, res)) metricsHandler(req, res);
          }
        : metricsHandler,
    );
    this.locals.push(metrics);
    const ready = await listenLocal(
      bind,
      o.readyPort ?? 15021,
      createAdminHandler('ready', sources),
    );
    this.locals.push(ready);
    this.ports = {
      inbound: inbound.port,
      outbound: outbound.port,
      admin: admin.port,
      metrics: metrics.port,
      ready: ready.port,
    };
    o.log.info({ node: this.nodeId, ports: this.ports }, 'sidecar listening');
  }

  /**
   * Routes each outbound connection on its original destination (SO_ORIGINAL_DST, when
   * `ferry init` redirected it; else the listener's own address): a TCP chain proxies it at
   * once, before the app says anything (server-first protocols are not held up), to the
   * chain's cluster or, for an ORIGINAL_DST cluster, to the destination itself. HTTP chains
   * (and connections before the first configuration) are left to the HTTP listener.
   */
  private outboundRouter(
    tcpEnv: TcpProxyEnv,
  ): (socket: net.Socket, serveHttp: (first: Buffer) => void) => boolean {
    const log = this.options.log;
    const opaquePorts = this.opaquePorts;
    const recover = recoverDestination;
    // Only captured traffic (ferry init) needs the addon; without capture the note is noise,
    // so it is a debug line (issue 15: nothing about node-gyp at every start).
    if (!recover) {
      log.debug(
        `the SO_ORIGINAL_DST addon is not built (${ADDON_BUILD_COMMAND}); outbound connections are routed on the listener's own address`,
      );
    }
    return (socket, serveHttp) => {
      const runtime = this.runtime;
      if (!runtime) return false;
      const original = recover?.(socket);
      const action = original
        ? runtime.outboundDestinations.lookup(original.address, original.port)
        : runtime.outboundDestinations.lookup(socket.localAddress ?? '', socket.localPort ?? 0);
      if (!action || action.kind === 'http') return false;
      const cluster = runtime.clusters.get(action.cluster);
      if (cluster) {
        proxyTcp(socket, undefined, cluster, action.idleTimeoutMs, tcpEnv);
        return true;
      }
      const target = runtime.originalDst.get(action.cluster);
      // Without a redirect there is no other destination to pass the connection on to.
      if (target && original) {
        const key =
          original.family === 6
            ? `[${original.address}]:${original.port}`
            : `${original.address}:${original.port}`;
        const to = { address: original.address, port: original.port, key };
        const pass = (first: Buffer | undefined) =>
          proxyTcpTo(socket, first, target, to, target.tls, action.idleTimeoutMs, tcpEnv);
        if (action.declared || opaquePorts.has(original.port)) pass(undefined);
        else this.detectPassthrough(socket, pass, serveHttp);
        return true;
      }
      if (!target)
        log.warn(
          { chain: action.chain, cluster: action.cluster },
          'no such cluster; connection closed',
        );
      socket.destroy();
      return true;
    };
  }

  /**
   * A destination outside the mesh, whose protocol nothing declares: its first bytes are
   * read (a server-first protocol's silence ends the wait after DETECTION_TIMEOUT_MS). An
   * HTTP/1.1 request whose Host names a service of the mesh is routed in the mesh, as an
   * Istio sidecar routes HTTP by Host whatever the address; everything else (TLS, HTTP/2,
   * other hosts, other protocols) passes through unchanged.
   */
  private detectPassthrough(
    socket: net.Socket,
    pass: (first: Buffer | undefined) => void,
    serveHttp: (first: Buffer) => void,
  ): void {
    readFirstBytes(socket, DETECTION_TIMEOUT_MS, (first) => {
      if (detectProtocol(first) === 'http1') {
        const host = requestHost(first);
        if (host !== undefined && this.outboundView.table?.hasVirtualHost(host)) {
          serveHttp(first);
          return;
        }
      }
      pass(first.length > 0 ? first : undefined);
    });
  }

  private connect(): void {
    const o = this.options;
    const random = o.random ?? Math.random;
    const metadata = nodeMetadataFor(
      {
        service: o.service,
        namespace: o.namespace ?? 'default',
        labels: o.labels ?? {},
        serviceAccount: o.serviceAccount ?? 'default',
        address: o.address ?? '127.0.0.1',
        inboundPort: this.ports.inbound,
        outboundPort: this.ports.outbound,
        appPort: o.appPort,
        region: o.region ?? '',
        zone: o.zone ?? '',
        health: 'HEALTHY',
        servicePort: o.servicePort,
        // A service the mesh file does not declare, on an opaque port, is TCP: its inbound
        // connections are proxied without waiting for HTTP.
        protocol:
          o.protocol ??
          (o.appPort !== undefined && this.opaquePorts.has(o.servicePort ?? o.appPort)
            ? 'tcp'
            : undefined),
      },
      { metricsPort: this.ports.metrics, adminPort: this.ports.admin },
    );
    const xds = new XdsClient({
      address: o.xds,
      node: {
        id: this.nodeId,
        metadata,
        user_agent_name: 'ferry',
        user_agent_version: FERRY_VERSION,
      },
      mode: o.mode ?? 'delta',
      log: o.log,
      random,
      validate: validateResource,
      ...(o.xdsCredentials ? { credentials: o.xdsCredentials } : {}),
    });
    this.xds = xds;
    xds.onConfig((source) => {
      const result = compileRuntime(
        source,
        this.runtime,
        random,
        this.tls,
        this.ports.inbound,
        this.outlierLog,
      );
      if (!result.ok) {
        o.log.error(
          { errors: result.errors },
          'configuration could not be applied; keeping the last one',
        );
        return;
      }
      const first = this.runtime === undefined;
      this.runtime = result.config;
      // Callers are named from the workloads EDS lists; the cluster name from the listener.
      const t = result.config.telemetry;
      this.istio.configure(
        result.config.clusters.values(),
        t.inbound.clusterName ?? t.outbound.clusterName,
        (t.inbound.peerMetadata ?? t.outbound.peerMetadata) !== false,
      );
      const telemetry = this.telemetry.apply(result.config.telemetry);
      this.lastTelemetry = telemetry;
      if (first) {
        this.firstTelemetry = telemetry.then(() => {
          this.telemetryReady = true;
        });
      }
      this.rebuildViews();
      const keep = new Set<string>();
      for (const c of result.config.clusters.values())
        for (const h of c.hostSet.hosts) keep.add(h.key);
      this.pools.retain(keep);
      o.log.info(
        { version: source.version, clusters: result.config.clusters.size },
        first ? 'sidecar ready' : 'configuration applied',
      );
    });
    xds.start();
  }

  /** Stops accepting, drains what is in flight (up to drainMs), then closes everything. */
  /**
   * The last resort for an error nothing handled (the CLI routes the process's
   * 'uncaughtException' here): logged and counted rather than ending every connection of
   * the pod. Each one is a bug to fix where the failing object was made.
   */
  uncaught(err: unknown): void {
    this.stats.uncaughtErrors++;
    this.options.log.error({ err }, 'uncaught error in the sidecar (a bug): the process goes on');
  }

  stop(drainMs = this.options.drainMs ?? 5000): Promise<void> {
    this.stopping ??= (async () => {
      this.draining = true;
      for (const s of this.tcpServers) s.close();
      await Promise.all(this.listeners.map((l) => l.close(drainMs)));
      this.mirror?.close();
      this.xds?.close();
      await this.pools.close();
      await this.telemetry.close();
      await Promise.all(this.locals.map((l) => l.close()));
    })();
    return this.stopping;
  }

  private adminSources() {
    const o = this.options;
    const requests = this.metrics.counter(
      'ferry_proxy_requests_total',
      'Requests handled, by response code class.',
      ['response_code_class'],
    );
    const retries = this.metrics.counter(
      'ferry_proxy_upstream_retries_total',
      'Retries sent upstream.',
    );
    const xdsConnected = this.metrics.gauge(
      'ferry_proxy_xds_connected',
      '1 while the xDS stream is up.',
    );
    const configVersion = this.metrics.gauge(
      'ferry_proxy_config_version',
      'Version of the configuration in force.',
    );
    const overflows = this.metrics.counter(
      'ferry_proxy_circuit_breaker_overflows_total',
      'Requests refused (request) and retries not sent (retry) by circuit breakers.',
      ['kind'],
    );
    const nacks = this.metrics.counter(
      'ferry_proxy_xds_nacks_total',
      'xDS responses the sidecar rejected (NACKed), keeping its last good configuration.',
    );
    const nacksChild = nacks.labels();
    const upstreamPools = this.metrics.gauge(
      'ferry_proxy_upstream_pools',
      'Upstream endpoint connection pools open.',
    );
    const poolsChild = upstreamPools.labels();
    const downstreamConnections = this.metrics.gauge(
      'ferry_proxy_downstream_connections',
      'Downstream connections open on the outbound and inbound listeners.',
    );
    const downstreamChild = downstreamConnections.labels();
    const denied = this.metrics.counter(
      'ferry_proxy_rbac_denied_total',
      'Requests refused by authorization policies (403).',
    );
    const deniedChild = denied.labels();
    const ejections = this.metrics.counter(
      'ferry_proxy_outlier_ejections_total',
      'Upstream hosts ejected by outlier detection.',
    );
    const ejectionsChild = ejections.labels();
    // Endpoints this sidecar will not send to, and why: what the dashboard shows as each
    // endpoint's health as the sidecars see it. Healthy ones are left out (bounded series).
    const unhealthy = this.metrics.gauge(
      'ferry_proxy_endpoint_unhealthy',
      'Upstream endpoints this sidecar does not send to: outlier_ejected, failed_health_check, or their EDS health.',
      ['cluster_name', 'endpoint', 'reason'],
    );
    const spans = this.metrics.counter(
      'ferry_proxy_trace_spans_total',
      'Spans ended, by what became of them: exported, or dropped (queue full, collector down).',
      ['result'],
    );
    const spansExported = spans.labels('exported');
    const spansDropped = spans.labels('dropped');
    const shadows = this.metrics.counter(
      'ferry_proxy_mirror_requests_total',
      'Shadow copies of mirrored requests: sent, failed (of those sent), dropped (over the cap of shadows in flight, or no mirror host), body_too_large (body over the buffer limit).',
      ['result'],
    );
    const shadowResults = (['sent', 'failed', 'dropped', 'body_too_large'] as const).map((r) =>
      shadows.labels(r),
    );
    const protocolErrors = this.metrics.counter(
      'ferry_proxy_protocol_errors_total',
      'Exchanges ended by a protocol error: downstream (a malformed request, 400 DPE) or upstream (a response the client protocol cannot carry, 502 UPE).',
      ['side'],
    );
    const downstreamErrors = protocolErrors.labels('downstream');
    const upstreamErrors = protocolErrors.labels('upstream');
    const uncaught = this.metrics.counter(
      'ferry_proxy_uncaught_errors_total',
      'Errors caught by the last-resort handler instead of ending the process: each is a bug.',
    );
    const uncaughtChild = uncaught.labels();
    const limitsHit = this.metrics.counter(
      'ferry_proxy_downstream_limits_total',
      'Times a downstream limit acted: connections closed by the header-read or idle timeout (HTTP and TCP proxy), heads refused as too large or with too many fields (431), reading paused for pipelined bytes, HTTP/2 connections closed for rapid reset, and HTTP/2 protocol errors nghttp2 refused.',
      ['limit'],
    );
    const limitChildren = LIMIT_NAMES.map((n) => [n, limitsHit.labels(n)] as const);
    const requestOverflows = overflows.labels('request');
    const retryOverflows = overflows.labels('retry');
    const classes = ['2xx', '3xx', '4xx', '5xx'].map((c) => requests.labels(c));
    const retriesChild = retries.labels();
    const connectedChild = xdsConnected.labels();
    const versionChild = configVersion.labels();
    return {
      configDump: () => ({
        node: this.nodeId,
        // What the sidecar was started with (Envoy's bootstrap: node, xDS server, ports).
        bootstrap: {
          node: { id: this.nodeId, user_agent_name: 'ferry', user_agent_version: FERRY_VERSION },
          xds: { address: o.xds, mode: o.mode ?? 'delta', tls: o.xdsCredentials !== undefined },
          workload: {
            service: o.service,
            namespace: o.namespace ?? 'default',
            serviceAccount: o.serviceAccount ?? 'default',
            labels: o.labels ?? {},
            address: o.address ?? '127.0.0.1',
            appPort: o.appPort,
            zone: o.zone ?? '',
          },
          ports: this.ports,
          mtls: o.certificates !== undefined,
        },
        xds: this.xds?.status(),
        version: this.runtime?.version ?? 0,
        resources: this.runtime
          ? {
              listeners: [...this.runtime.source.listeners.values()],
              routes: [...this.runtime.source.routes.values()],
              clusters: [...this.runtime.source.clusters.values()],
              endpoints: [...this.runtime.source.endpoints.values()],
            }
          : null,
      }),
      clusters: () =>
        [...(this.runtime?.clusters.values() ?? [])].map((c) => ({
          name: c.name,
          policy: c.policy,
          protocol: c.protocol,
          circuit_breakers: c.breakers.toJSON(),
          hosts: c.hostSet.hosts.map((h) => ({
            address: h.key,
            health: h.health,
            healthy: h.healthy,
            active: h.active,
            rqTotal: h.rqTotal,
            rqError: h.rqError,
            ejected: h.ejected,
            failedHealthCheck: h.failedHealthCheck,
            priority: h.priority,
            weight: h.weight,
            zone: h.locality.zone,
          })),
        })),
      stats: () => ({
        ...this.stats.snapshot(),
        ...Object.fromEntries(LIMIT_NAMES.map((n) => [`limit_${n}`, this.limitCounters.counts[n]])),
        xds_connected: this.xds?.status().connected ? 1 : 0,
        config_version: this.runtime?.version ?? 0,
        upstream_pools: this.pools.size,
        downstream_connections: this.listeners.reduce((n, l) => n + l.connections, 0),
        ...memoryStats(),
      }),
      prometheus: () => {
        const s = this.stats;
        classes[0].value = s.responses2xx;
        classes[1].value = s.responses3xx;
        classes[2].value = s.responses4xx;
        classes[3].value = s.responses5xx;
        retriesChild.value = s.retries;
        requestOverflows.value = s.overflows;
        nacksChild.value = this.xds?.status().nacks ?? 0;
        poolsChild.set(this.pools.size);
        downstreamChild.set(this.listeners.reduce((n, l) => n + l.connections, 0));
        deniedChild.value = s.denied;
        ejectionsChild.value = s.ejections;
        const spanStats = this.telemetry.spanStats;
        spansExported.value = spanStats.exported;
        spansDropped.value = spanStats.dropped;
        retryOverflows.value = s.retryOverflows;
        downstreamErrors.value = s.downstreamProtocolErrors;
        upstreamErrors.value = s.upstreamProtocolErrors;
        uncaughtChild.value = s.uncaughtErrors;
        for (const [name, child] of limitChildren) child.value = this.limitCounters.counts[name];
        shadowResults[0].value = s.shadows;
        shadowResults[1].value = s.shadowsFailed;
        shadowResults[2].value = s.shadowsDropped;
        shadowResults[3].value = s.shadowsBodyTooLarge;
        connectedChild.set(this.xds?.status().connected ? 1 : 0);
        versionChild.set(this.runtime?.version ?? 0);
        unhealthy.reset();
        for (const c of this.runtime?.clusters.values() ?? []) {
          for (const h of c.hostSet.hosts) {
            const reason = unhealthyReason(h);
            if (reason) unhealthy.labels(c.name, h.key, reason).set(1);
          }
        }
        return this.metrics.render();
      },
      certs: () => {
        const current = o.certificates?.current();
        return {
          chain: current ? describePem(current.chain) : [],
          roots: current ? describePem(current.roots) : [],
        };
      },
      serverInfo: () => ({
        version: FERRY_VERSION,
        node: this.nodeId,
        state: this.draining ? 'DRAINING' : this.ready ? 'LIVE' : 'INITIALIZING',
        uptime_s: Math.round(process.uptime()),
        config_version: this.runtime?.version ?? 0,
      }),
      logLevel: () => o.log.level,
      setLogLevel: (level: string) => {
        setLogLevel(o.log, level);
        o.log.info({ level }, 'log level changed');
      },
      ready: () => this.ready,
      drain: () => {
        this.draining = true;
        for (const l of this.listeners) void l.close(o.drainMs ?? 5000);
      },
      quit: () => {
        void this.stop().then(() => o.onQuit?.());
      },
      tap: this.tapHub,
    };
  }
}

/** Why a sidecar does not send to a host (outlier ejection first, as Envoy's health flags). */
function unhealthyReason(h: Host): string | undefined {
  if (h.ejected) return 'outlier_ejected';
  if (h.failedHealthCheck) return 'failed_health_check';
  if (h.health !== 'HEALTHY' && h.health !== 'UNKNOWN') return h.health.toLowerCase();
  return undefined;
}
