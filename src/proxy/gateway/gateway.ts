/**
 * `ferry gateway`: the proxy at the mesh's edge, wired. It is configured over ADS like a
 * sidecar and runs the sidecar's data path (request handler, route tables, clusters, pools,
 * mTLS to sidecars, RBAC, Istio metrics, traces, access log), but its listeners are the
 * ones LDS gives it (`gateway~<port>`, see gateway-listener.ts), opened and closed as they
 * come and go: plaintext HTTP, HTTPS terminated with the certificate the SNI picks (SDS
 * secrets), TLS passed through by SNI or terminated in front of a TCP backend, and TCP. It announces the Gateway it implements in
 * its node metadata and never registers as an endpoint of a service.
 */
import { X509Certificate } from 'node:crypto';
import type http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from '../../log/index.js';
import { MetricsRegistry, registerBuildInfo } from '../../metrics/index.js';
import { FERRY_VERSION } from '../../version/index.js';
import { type Json, jsonToStruct, META, types } from '../../xds/index.js';
import {
  type CompileHook,
  type ProxyConfig,
  XdsClient,
  type XdsClientOptions,
} from '../../xds-client/index.js';
import {
  type AdminRole,
  type AdminSources,
  type ClusterView,
  certificateView,
  clusterStatus,
  createAdminHandler,
  type LocalServer,
  listenLocal,
  logLevelSources,
  serverInfo,
} from '../admin/index.js';
import {
  createRequestHandler,
  createUpgradeHandler,
  DEFAULT_MAX_SHADOWS,
  DEFAULT_RETRY_BUFFER_LIMIT,
  IstioMetrics,
  ProxyStats,
  RequestMirror,
  type RouteView,
} from '../http/index.js';
import {
  checkLimits,
  guardHandshake,
  HANDSHAKE_TIMEOUT_MS,
  type HttpListener,
  LimitCounters,
  type ListenerLimits,
  listenHttp,
  peerVerified,
  readClientHello,
  usableBindAddress,
} from '../listener/index.js';
import {
  assembleRuntime,
  type CompiledRoutes,
  ResourceCompiler,
  type RuntimeConfig,
} from '../runtime/index.js';
import { denialLogger, outlierLog, tcpTelemetry } from '../sidecar/index.js';
import { proxyTcp } from '../tcp/index.js';
import { LiveTelemetry } from '../telemetry/index.js';
import { type CertificateSource, spiffeIds, WorkloadTls } from '../tls/index.js';
import type { TracingOptions } from '../tracing/index.js';
import { UpstreamPools } from '../upstream/index.js';
import type { ConfigFeed } from '../workers/index.js';
import { GatewayConfigError } from './gateway-error.js';
import {
  type ChainKind,
  chainFor,
  compileGatewayListener,
  type GatewayChain,
  type GatewayListenerSpec,
  type MeshTls,
  pickTcpCluster,
} from './gateway-listener.js';
import { checkSecret, SecretContexts, secretSetKey } from './secret-contexts.js';

/** The Node.metadata keys a gateway announces itself with (the contract with the control plane). */
export const GATEWAY_META = { gateway: 'FERRY_GATEWAY', mode: 'FERRY_MODE' } as const;

export type GatewayMode = 'gateway' | 'egress';

export interface GatewayOptions {
  /** Control plane address, host:port. */
  readonly xds: string;
  /** The Gateway resource it implements, `<namespace>/<name>`. */
  readonly gateway: string;
  readonly mode?: GatewayMode;
  /** Its own workload name (Istio's source_workload): default the Gateway's name. */
  readonly service?: string;
  /** Its namespace; default the Gateway's. */
  readonly namespace?: string;
  /** Its SPIFFE service account; default the Gateway's name. */
  readonly serviceAccount?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** xDS node id; default `<service>-<pid>.<namespace>`. */
  readonly id?: string;
  /**
   * The address sidecars reach it at, announced as FERRY_ADDRESS: an egress gateway with one
   * receives the sidecars' traffic to the declared hosts (absent: it is no such destination).
   */
  readonly address?: string;
  /** Where the gateway's listeners bind (default 0.0.0.0: it faces clients outside). */
  readonly bind?: string;
  /** Added to every listener's port (several gateways on one machine; tests). */
  readonly portOffset?: number;
  readonly adminPort?: number;
  readonly metricsPort?: number;
  readonly readyPort?: number;
  readonly xdsMode?: 'delta' | 'sotw';
  readonly drainMs?: number;
  readonly accessLog?: string;
  readonly tracing?: Omit<TracingOptions, 'serviceName' | 'serviceNamespace'>;
  readonly limits?: Partial<ListenerLimits>;
  /** Its workload certificate (mTLS to sidecars); without one, plaintext toward the mesh. */
  readonly certificates?: CertificateSource;
  readonly xdsCredentials?: ChannelCredentials;
  readonly random?: () => number;
  readonly log: Logger;
  readonly onQuit?: () => void;
  /**
   * Where the configuration comes from when not from an xDS stream of its own: a worker of
   * `--concurrency N` gets it from the primary, which holds the one stream.
   */
  readonly feed?: ConfigFeed;
  /** Open the admin, metrics and readiness ports (default true; a worker's primary does). */
  readonly localPorts?: boolean;
  /** Told of each configuration applied (a worker reports it to the primary). */
  readonly onApplied?: (version: number, error?: string) => void;
}

/** What one served listener runs on now: swapped whole on every configuration. */
interface ListenerState {
  readonly spec: GatewayListenerSpec;
  readonly view: RouteView;
  /**
   * Per chain that terminates TLS (https, tls-terminate): its secure context (undefined: its
   * secret is missing or unusable).
   */
  readonly contexts: ReadonlyMap<GatewayChain, tls.SecureContext | undefined>;
}

interface ServedListener {
  readonly port: number;
  readonly server: HttpListener;
  state: ListenerState;
}

/** What an HTTPS chain offers in ALPN (RFC 7301): HTTP/2, then HTTP/1.1. */
const HTTP_ALPN = ['h2', 'http/1.1'];

const EMPTY_VIEW: RouteView = { table: undefined, clusters: new Map() };

/** A chain whose certificates are SDS secrets (not the workload's own). */
const hasSecrets = (c: GatewayChain): boolean => c.secretNames.length > 0;

/**
 * What a chain is on a gateway with or without a workload certificate: without one (a mesh
 * without a CA) the mesh's mutual TLS is plaintext, as on sidecars: HTTP, or the client's
 * own TLS routed by its SNI.
 */
function servedKind(chain: GatewayChain, identity: boolean): ChainKind {
  if (!chain.mtls || identity) return chain.kind;
  if (chain.kind === 'https') return 'http';
  return chain.serverNames.length > 0 ? 'passthrough' : 'tcp';
}

/** Gateway listeners are every listener but a sidecar's two. */
function isGatewayListener(name: string): boolean {
  return name !== types.VIRTUAL_INBOUND && name !== types.VIRTUAL_OUTBOUND;
}

/**
 * The gateway's compile hook for the xDS client: gateway listeners into their chains (by
 * SNI), secrets checked to load; everything else as a sidecar compiles it. What does not
 * compile is NACKed when it arrives, and the last good resource stays.
 */
export class GatewayCompiler {
  private readonly resources = new ResourceCompiler();

  readonly compile: CompileHook = (typeUrl, name, value, previous) => {
    try {
      if (typeUrl === types.LISTENER && isGatewayListener(name))
        return { ok: true, compiled: compileGatewayListener(value) };
      if (typeUrl === types.SECRET) {
        checkSecret(value);
        return { ok: true, compiled: undefined };
      }
    } catch (err) {
      return { ok: false, error: err instanceof GatewayConfigError ? err.message : String(err) };
    }
    return this.resources.compile(typeUrl, name, value, previous);
  };
}

/** Why a resource would be NACKed by a gateway; undefined when it compiles. */
export function validateGatewayResource(
  typeUrl: string,
  name: string,
  value: object,
): string | undefined {
  const r = new GatewayCompiler().compile(typeUrl, name, value, undefined);
  return r.ok ? undefined : r.error;
}

/** `<namespace>/<name>` of the Gateway, split. */
function gatewayParts(ref: string): [string, string] {
  const [ns, name] = ref.split('/');
  return [ns, name];
}

/**
 * The gateway's one xDS client: the node announces the Gateway it implements and its mode,
 * but no FERRY_SERVICE: a gateway is no endpoint of a service; the control plane knows it by
 * FERRY_GATEWAY and serves it that Gateway's listeners.
 */
export function gatewayXdsClient(
  o: GatewayOptions,
  nodeId: string,
  namespace: string,
  ports: { readonly metrics: number; readonly admin: number },
  /** A primary's: each response ACKed once every worker applied it (WorkerPool.confirm). */
  confirm?: XdsClientOptions['confirm'],
): XdsClient {
  const metadata: Record<string, Json> = {
    [GATEWAY_META.gateway]: o.gateway,
    [GATEWAY_META.mode]: o.mode ?? 'gateway',
    [META.namespace]: namespace,
    [META.serviceAccount]: o.serviceAccount ?? gatewayParts(o.gateway)[1],
    [META.labels]: { ...(o.labels ?? {}) },
    [META.metricsPort]: ports.metrics,
    [META.adminPort]: ports.admin,
  };
  if (o.address !== undefined) metadata[META.address] = o.address;
  if (o.portOffset) metadata[META.portOffset] = o.portOffset;
  return new XdsClient({
    address: o.xds,
    node: {
      id: nodeId,
      metadata: jsonToStruct(metadata),
      user_agent_name: 'ferry',
      user_agent_version: FERRY_VERSION,
    },
    mode: o.xdsMode ?? 'delta',
    log: o.log,
    random: o.random ?? Math.random,
    compile: new GatewayCompiler().compile,
    ...(confirm ? { confirm } : {}),
    ...(o.xdsCredentials ? { credentials: o.xdsCredentials } : {}),
  });
}

/** The gateway's workload name, namespace and node id, from its options. */
export function gatewayIdentity(o: GatewayOptions): {
  readonly service: string;
  readonly namespace: string;
  readonly nodeId: string;
} {
  const [gatewayNs, gatewayName] = gatewayParts(o.gateway);
  const namespace = o.namespace ?? gatewayNs;
  const service = o.service ?? gatewayName;
  return { service, namespace, nodeId: o.id ?? `${service}-${process.pid}.${namespace}` };
}

/**
 * The admin (127.0.0.1 only), metrics and readiness ports; the last two are reached from
 * outside the pod (Prometheus, the kubelet). `wrap` puts a route in front of a port's handler.
 */
export async function openLocalPorts(
  o: GatewayOptions,
  sources: AdminSources,
  opened: LocalServer[],
  wrap: (role: AdminRole, handler: http.RequestListener) => http.RequestListener = (_, h) => h,
): Promise<{ admin: number; metrics: number; ready: number }> {
  const host = o.bind ?? '0.0.0.0';
  const open = async (role: AdminRole, bind: string, port: number) => {
    const server = await listenLocal(bind, port, wrap(role, createAdminHandler(role, sources)));
    opened.push(server);
    return server.port;
  };
  return {
    admin: await open('admin', '127.0.0.1', o.adminPort ?? 15000),
    metrics: await open('metrics', host, o.metricsPort ?? 15020),
    ready: await open('ready', host, o.readyPort ?? 15021),
  };
}

export class Gateway {
  readonly nodeId: string;
  readonly stats = new ProxyStats();
  readonly limitCounters = new LimitCounters();
  readonly pools = new UpstreamPools('ferry');
  readonly tls: WorkloadTls | undefined;
  private readonly limits: ListenerLimits;
  private readonly metrics = new MetricsRegistry();
  private readonly istio: IstioMetrics;
  private readonly telemetry: LiveTelemetry;
  private readonly contexts = new SecretContexts();
  private readonly outlierLog: ReturnType<typeof outlierLog>;
  private readonly served = new Map<string, ServedListener>();
  private readonly locals: LocalServer[] = [];
  private readonly namespace: string;
  private readonly service: string;
  private runtime: RuntimeConfig | undefined;
  private xds: XdsClient | undefined;
  private feed: ConfigFeed | undefined;
  private adminView: ReturnType<Gateway['adminSources']> | undefined;
  private mirror: RequestMirror | undefined;
  private bindAddress = '0.0.0.0';
  private applying: Promise<void> = Promise.resolve();
  private draining = false;
  /** The first configuration is applied, its listeners listening. */
  private configured = false;
  private stopping: Promise<void> | undefined;
  private readyWaiters: Array<() => void> = [];
  ports = { admin: 0, metrics: 0, ready: 0 };

  private constructor(private readonly options: GatewayOptions) {
    const who = gatewayIdentity(options);
    this.namespace = who.namespace;
    this.service = who.service;
    this.nodeId = who.nodeId;
    this.limits = checkLimits(options.limits ?? {});
    this.tls = options.certificates ? new WorkloadTls(options.certificates) : undefined;
    this.outlierLog = outlierLog(options.log, this.stats);
    registerBuildInfo(this.metrics, 'proxy');
    // Istio's gateways report as the source of every request they send into the mesh, named
    // by their own deployment (source_workload, source_app, source_canonical_service).
    this.istio = new IstioMetrics(this.metrics, {
      service: this.service,
      namespace: this.namespace,
      labels: options.labels ?? {},
      principal: () => this.principal,
    });
    this.telemetry = new LiveTelemetry(
      {
        tracing: options.tracing,
        accessLog: options.accessLog,
        service: this.service,
        namespace: this.namespace,
      },
      options.log,
      () => this.rebuildViews(),
    );
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    const g = new Gateway(options);
    try {
      await g.listen();
      g.connect();
    } catch (err) {
      await g.stop(0);
      throw err;
    }
    return g;
  }

  /** This gateway's SPIFFE ID, from its current certificate. */
  get principal(): string | undefined {
    const chain = this.options.certificates?.current()?.chain;
    if (!chain) return undefined;
    try {
      return spiffeIds(new X509Certificate(chain).subjectAltName)[0];
    } catch {
      return undefined;
    }
  }

  get ready(): boolean {
    return this.configured && !this.draining;
  }

  /** Resolves once the first configuration is applied (its listeners listening). */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.configured) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no configuration applied within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The ports listening now, by listener name. */
  get listenerPorts(): Record<string, number> {
    return Object.fromEntries([...this.served].map(([name, s]) => [name, s.server.port]));
  }

  private async listen(): Promise<void> {
    const o = this.options;
    this.bindAddress = await usableBindAddress(o.bind ?? '0.0.0.0', o.log);
    await this.telemetry.start();
    this.mirror = new RequestMirror({
      pools: this.pools,
      random: o.random ?? Math.random,
      stats: this.stats,
      bodyLimit: DEFAULT_RETRY_BUFFER_LIMIT,
      maxActive: DEFAULT_MAX_SHADOWS,
    });
    const sources = this.adminSources();
    this.adminView = sources;
    if (o.localPorts === false) return;
    this.ports = await openLocalPorts(o, sources, this.locals);
  }

  private connect(): void {
    const o = this.options;
    if (o.feed) {
      this.feed = o.feed;
      o.feed.onConfig((source) => {
        this.applying = this.applying.then(() => this.apply(source));
      });
      o.feed.start();
      return;
    }
    const xds = gatewayXdsClient(o, this.nodeId, this.namespace, this.ports);
    this.xds = xds;
    xds.onConfig((source) => {
      // Listeners open one after another; configurations are applied in the order they came.
      this.applying = this.applying.then(() => this.apply(source));
    });
    xds.start();
  }

  /** Compiles a configuration and swaps it in whole: clusters, routes, listeners, certificates. */
  private async apply(source: ProxyConfig): Promise<void> {
    if (this.draining) return;
    const o = this.options;
    const random = o.random ?? Math.random;
    // Every resource compiled when it arrived (what did not was NACKed): assembling cannot fail.
    const result = assembleRuntime(source, this.runtime, random, this.tls, 0, this.outlierLog);
    if (result.warnings.length > 0)
      o.log.warn({ warnings: result.warnings }, 'configuration applied with warnings');
    const specs: GatewayListenerSpec[] = [];
    for (const [name, entry] of source.listeners)
      if (isGatewayListener(name)) specs.push(entry.compiled as GatewayListenerSpec);
    const first = this.runtime === undefined;
    this.runtime = result.config;
    this.istio.configure(result.config.clusters.values());
    const sets = specs.flatMap((s) => s.chains.filter(hasSecrets).map((c) => c.secretNames));
    const contexts = this.contexts.update(sets, source.secrets, (names, err) =>
      o.log.warn(
        { secrets: names, err: err.message },
        'a chain terminating TLS has no usable certificate; its handshakes are refused',
      ),
    );
    const wanted = new Set(specs.map((s) => s.name));
    for (const [name, served] of this.served) {
      if (wanted.has(name) && specs.find((s) => s.name === name)?.port === served.state.spec.port)
        continue;
      this.served.delete(name);
      o.log.info(
        { listener: name, port: served.server.port },
        'gateway listener removed; draining',
      );
      void served.server.close(o.drainMs ?? 5000);
    }
    for (const spec of specs) {
      const state: ListenerState = {
        spec,
        view: this.viewOf(spec),
        contexts: new Map(
          spec.chains.filter(hasSecrets).map((c) => [c, contexts.get(secretSetKey(c.secretNames))]),
        ),
      };
      const served = this.served.get(spec.name);
      if (served) served.state = state;
      else {
        try {
          await this.open(state);
        } catch (err) {
          o.log.error(
            { listener: spec.name, port: spec.port, err: (err as Error).message },
            'gateway listener cannot listen',
          );
        }
      }
    }
    const keep = new Set<string>();
    for (const c of result.config.clusters.values())
      for (const h of c.hostSet.hosts) keep.add(h.key);
    this.pools.retain(keep);
    o.log.info(
      {
        version: source.version,
        listeners: this.listenerPorts,
        clusters: result.config.clusters.size,
      },
      first ? 'gateway ready' : 'configuration applied',
    );
    this.configured = true;
    o.onApplied?.(source.version);
    if (first) for (const w of this.readyWaiters.splice(0)) w();
  }

  /** A listener's route view: its connection manager's routes, authorization and telemetry. */
  private viewOf(spec: GatewayListenerSpec): RouteView {
    const runtime = this.runtime;
    if (!runtime) return EMPTY_VIEW;
    const http = spec.chains.find((c) => c.routeName !== undefined);
    const routes =
      http?.routeName === undefined
        ? undefined
        : (runtime.source.routes.get(http.routeName)?.compiled as CompiledRoutes | undefined);
    const out = this.telemetry.of('outbound');
    return {
      table: routes?.table,
      filters: routes?.filters,
      clusters: runtime.clusters,
      ...(http?.rbac ? { rbac: http.rbac, port: spec.port } : {}),
      tracing: out.tracing,
      accessLog: out.accessLog,
    };
  }

  private rebuildViews(): void {
    for (const served of this.served.values())
      served.state = { ...served.state, view: this.viewOf(served.state.spec) };
  }

  private async open(initial: ListenerState): Promise<void> {
    const o = this.options;
    const random = o.random ?? Math.random;
    const port = initial.spec.port + (o.portOffset ?? 0);
    // The slot exists before the server, so the handlers read the state in force from it.
    const slot = { state: initial };
    const view = () => slot.state.view;
    const recorder = this.istio.recorder('source');
    const env = {
      pools: this.pools,
      random,
      stats: this.stats,
      retryBufferLimit: DEFAULT_RETRY_BUFFER_LIMIT,
      mirror: this.mirror,
      view,
      istio: recorder,
      onDenied: denialLogger(o.log),
    };
    const tcpEnv = tcpTelemetry(
      this.istio.tcpRecorder('source'),
      () => slot.state.view,
      this.limits.tcpIdleTimeoutMs,
      this.limitCounters,
    );
    const tcp = (socket: net.Socket, first: Buffer | undefined, chain: GatewayChain) => {
      const action = chain.tcp!;
      const cluster = this.runtime?.clusters.get(pickTcpCluster(action, random));
      if (!cluster) {
        socket.destroy();
        return;
      }
      proxyTcp(socket, first, cluster, action.idleTimeoutMs, tcpEnv);
    };
    const accept = (socket: net.Socket, serveHttp: (first: Buffer, stream?: net.Socket) => void) =>
      this.accept(slot.state, socket, serveHttp, tcp);
    const server = await listenHttp(this.bindAddress, port, createRequestHandler(env), {
      fastPath: true,
      refused: () => {
        this.stats.downstreamProtocolErrors++;
      },
      limits: this.limits,
      limitHit: (limit) => this.limitCounters.hit(limit),
      accept,
      upgrade: createUpgradeHandler({ ...env }),
    });
    const served: ServedListener = {
      port,
      server,
      get state() {
        return slot.state;
      },
      set state(s: ListenerState) {
        slot.state = s;
      },
    };
    this.served.set(initial.spec.name, served);
    o.log.info({ listener: initial.spec.name, port: server.port }, 'gateway listener listening');
  }

  /**
   * A new connection: a plaintext HTTP listener serves it as HTTP (false: the HTTP listener
   * goes on as usual); a TCP listener proxies it at once; otherwise its ClientHello picks
   * the chain (terminate with that chain's certificate and serve HTTP or proxy the cleartext
   * stream, or pass the TLS through).
   */
  private accept(
    state: ListenerState,
    socket: net.Socket,
    serveHttp: (first: Buffer, stream?: net.Socket) => void,
    tcp: (socket: net.Socket, first: Buffer | undefined, chain: GatewayChain) => void,
  ): boolean {
    const spec = state.spec;
    const identity = this.tls !== undefined;
    if (!spec.inspect) {
      const chain = spec.chains[0];
      if (chain.kind === 'http') return false;
      tcp(socket, undefined, chain);
      return true;
    }
    readClientHello(socket, HANDSHAKE_TIMEOUT_MS, (hello, bytes) => {
      const chain = hello.kind === 'hello' ? chainFor(spec, hello.sni) : spec.fallback;
      const kind = chain && servedKind(chain, identity);
      if (!chain || (hello.kind !== 'hello' && kind !== 'http' && kind !== 'tcp')) {
        this.stats.downstreamProtocolErrors++;
        socket.destroy();
        return;
      }
      switch (kind) {
        case 'http':
          serveHttp(bytes);
          return;
        case 'tcp':
        case 'passthrough':
          tcp(socket, bytes, chain);
          return;
        case 'https':
        case 'tls-terminate': {
          const opaque = chain.kind === 'tls-terminate';
          const onSecure = opaque
            ? (secure: tls.TLSSocket) => tcp(secure, undefined, chain)
            : (secure: tls.TLSSocket) =>
                secure.once('data', (chunk: Buffer) => serveHttp(chunk, secure));
          if (chain.mtls) {
            this.terminateMesh(socket, bytes, chain.mtls, opaque, onSecure);
            return;
          }
          const context = state.contexts.get(chain);
          if (!context) {
            socket.destroy();
            return;
          }
          this.terminate(
            socket,
            bytes,
            opaque
              ? { secureContext: context }
              : { secureContext: context, ALPNProtocols: HTTP_ALPN },
            onSecure,
          );
        }
      }
    });
    return true;
  }

  /**
   * Terminates the mesh's mutual TLS with the gateway's workload certificate: a client
   * certificate from the mesh's CA required (as the chain says), checked as the sidecars'
   * inbound checks it; then `serve` takes the decrypted stream. Until the first certificate
   * arrives nothing is served. `opaque`: the stream is proxied as TCP, each direction ending
   * on its own.
   */
  private terminateMesh(
    socket: net.Socket,
    hello: Buffer,
    mtls: MeshTls,
    opaque: boolean,
    serve: (secure: tls.TLSSocket) => void,
  ): void {
    const context = this.tls?.context();
    if (!context) {
      socket.destroy();
      return;
    }
    const options: tls.TLSSocketOptions = {
      secureContext: context,
      requestCert: true,
      rejectUnauthorized: mtls.requireClientCert,
      ...(mtls.alpn.length > 0 ? { ALPNProtocols: [...mtls.alpn] } : {}),
    };
    this.terminate(socket, hello, options, (secure) => {
      if (!peerVerified(secure)) {
        this.stats.downstreamProtocolErrors++;
        secure.destroy();
        socket.destroy();
        return;
      }
      // A proxied stream ends one direction at a time: the socket under the TLS must let the
      // other direction go on (TLS 1.3 allows it).
      if (opaque) socket.allowHalfOpen = true;
      serve(secure);
    });
  }

  /**
   * Terminates TLS with `options` (a chain's context and ALPN, or the mesh's mutual TLS),
   * then hands the cleartext on: an HTTPS chain serves the HTTP it carries; a TLS chain in
   * Terminate mode, or the mesh's TLS in front of a tcp_proxy, proxies the stream on.
   */
  private terminate(
    socket: net.Socket,
    hello: Buffer,
    options: tls.TLSSocketOptions,
    onSecure: (secure: tls.TLSSocket) => void,
  ): void {
    // The ClientHello goes back into the TCP socket's buffer, paused so that nothing emits
    // it, and TLS runs on the socket itself (OpenSSL's native path): node's TLS socket reads
    // what is buffered there first (lib/_tls_wrap.js initRead).
    socket.pause();
    socket.unshift(hello);
    const secure = new tls.TLSSocket(socket, { ...options, isServer: true });
    guardHandshake(secure, socket, () => onSecure(secure));
  }

  /** This process's metrics and admin stats (the primary of `--concurrency N` sums its workers'). */
  workerMetrics(): { text: string; stats: Record<string, number | string> } {
    const view = this.adminView;
    return { text: view?.prometheus() ?? '', stats: view?.stats() ?? {} };
  }

  /** This process's clusters (the primary of `--concurrency N` shows its workers' as one). */
  workerClusters(): ClusterView[] {
    return this.adminView?.clusters() ?? [];
  }

  uncaught(err: unknown): void {
    this.stats.uncaughtErrors++;
    this.options.log.error({ err }, 'uncaught error in the gateway (a bug): the process goes on');
  }

  /** Stops accepting, drains what is in flight (up to drainMs), then closes everything. */
  stop(drainMs = this.options.drainMs ?? 5000): Promise<void> {
    this.stopping ??= (async () => {
      this.draining = true;
      await Promise.all([...this.served.values()].map((s) => s.server.close(drainMs)));
      this.mirror?.close();
      this.xds?.close();
      this.feed?.close();
      this.tls?.close();
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
    const classes = ['2xx', '3xx', '4xx', '5xx'].map((c) => requests.labels(c));
    const connections = this.metrics
      .gauge(
        'ferry_proxy_downstream_connections',
        'Downstream connections open on the gateway listeners.',
      )
      .labels();
    const configVersion = this.metrics
      .gauge('ferry_proxy_config_version', 'Version of the configuration in force.')
      .labels();
    const open = () => [...this.served.values()].reduce((n, s) => n + s.server.connections, 0);
    return {
      configDump: () => ({
        node: this.nodeId,
        bootstrap: {
          node: { id: this.nodeId, user_agent_name: 'ferry', user_agent_version: FERRY_VERSION },
          xds: { address: o.xds, mode: o.xdsMode ?? 'delta', tls: o.xdsCredentials !== undefined },
          gateway: {
            gateway: o.gateway,
            mode: o.mode ?? 'gateway',
            service: this.service,
            namespace: this.namespace,
          },
          ports: { ...this.ports, listeners: this.listenerPorts },
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
              // Names and versions only: the private keys stay in this process.
              secrets: [...this.runtime.source.secrets.values()].map((s) => ({
                name: s.name,
                version: s.version,
              })),
            }
          : null,
      }),
      clusters: () => clusterStatus(this.runtime?.clusters.values() ?? []),
      stats: () => ({
        ...this.stats.snapshot(),
        config_version: this.runtime?.version ?? 0,
        downstream_connections: open(),
      }),
      prometheus: () => {
        const s = this.stats;
        classes[0].value = s.responses2xx;
        classes[1].value = s.responses3xx;
        classes[2].value = s.responses4xx;
        classes[3].value = s.responses5xx;
        connections.set(open());
        configVersion.set(this.runtime?.version ?? 0);
        return this.metrics.render();
      },
      certs: () => certificateView(o.certificates),
      serverInfo: () =>
        serverInfo(
          this.nodeId,
          this.draining ? 'DRAINING' : this.ready ? 'LIVE' : 'INITIALIZING',
          this.runtime?.version ?? 0,
        ),
      ...logLevelSources(o.log),
      ready: () => this.ready,
      drain: () => {
        this.draining = true;
        for (const s of this.served.values()) void s.server.close(o.drainMs ?? 5000);
      },
      quit: () => {
        void this.stop().then(() => o.onQuit?.());
      },
    };
  }
}
