/**
 * The sidecar, composed: listeners first (so ports chosen as 0 are known and announced),
 * then the xDS client, whose every complete configuration is compiled and swapped in
 * whole; admin, readiness and metrics ports beside. Stops with a graceful drain. Each job
 * is a part of its own in ./sidecar/; this file only wires them and owns the lifecycle.
 */
import { X509Certificate } from 'node:crypto';
import type net from 'node:net';
import { MetricsRegistry, registerBuildInfo } from '../metrics/index.js';
import type { XdsClient } from '../xds-client/index.js';
import type { AdminSources, ClusterView, LocalServer } from './admin/index.js';
import { IstioMetrics, ProxyStats } from './http/index.js';
import { type HttpListener, LimitCounters, usableBindAddress } from './listener/index.js';
import { ResourceCompiler, type RuntimeConfig } from './runtime/index.js';
import {
  adminSources,
  ConfigApply,
  createXdsConnection,
  type DataListeners,
  LiveConfig,
  listenDataPath,
  listenLocalServers,
  outlierLog,
  registerProxyMetrics,
  resolveSidecarOptions,
  type SidecarGauges,
  type SidecarOptions,
  type SidecarSettings,
} from './sidecar/index.js';
import { LiveTelemetry } from './telemetry/index.js';
import { spiffeIds, WorkloadTls } from './tls/index.js';
import { UpstreamPools } from './upstream/index.js';

export class Sidecar {
  private readonly settings: SidecarSettings;
  /** The configuration in force and the route views built from it. */
  private readonly live: LiveConfig;
  private readonly configApply: ConfigApply;
  private draining = false;
  private stopping: Promise<void> | undefined;
  readonly stats = new ProxyStats();
  /** Compiles each xDS resource when it arrives (the xDS client's compile hook), and counts. */
  readonly compiler = new ResourceCompiler();
  /** How often each downstream limit acted (timeouts, sizes, pipelining, HTTP/2). */
  readonly limitCounters = new LimitCounters();
  readonly pools: UpstreamPools;
  /** The secure context built from the workload's certificate, if it has one. */
  readonly tls: WorkloadTls | undefined;
  private readonly metrics = new MetricsRegistry();
  /** Istio's standard metrics, both reporters; told of each configuration to name peers. */
  private readonly istio: IstioMetrics;
  private xds: XdsClient | undefined;
  private adminView: AdminSources | undefined;
  private data: DataListeners | undefined;
  private locals: LocalServer[] = [];
  /** Traces and access logs, as the configuration (or else the flags) say. */
  private readonly telemetry: LiveTelemetry;
  ports = { inbound: 0, outbound: 0, admin: 0, metrics: 0, ready: 0 };
  readonly nodeId: string;

  /** What the admin pages and Prometheus read from the parts, each from its one home. */
  private readonly gauges: SidecarGauges = {
    xdsConnected: () => (this.xds?.status().connected ? 1 : 0),
    xdsNacks: (type) => this.xds?.nacksOf(type) ?? 0,
    configVersion: () => this.live.runtime?.version ?? 0,
    upstreamPools: () => this.pools.size,
    downstreamConnections: () => this.listeners.reduce((n, l) => n + l.connections, 0),
  };

  private constructor(options: SidecarOptions) {
    const o = resolveSidecarOptions(options);
    this.settings = o;
    this.nodeId = o.nodeId;
    // `--http1 node` is the libraries' path end to end: node's HTTP server downstream and
    // undici upstream.
    this.pools = new UpstreamPools(o.http1 === 'node' ? 'undici' : 'ferry');
    this.tls = o.certificates ? new WorkloadTls(o.certificates) : undefined;
    registerBuildInfo(this.metrics, 'proxy');
    this.istio = new IstioMetrics(this.metrics, {
      service: o.service,
      namespace: o.namespace,
      labels: o.labels,
      principal: () => this.principal,
    });
    this.live = new LiveConfig(o);
    this.telemetry = new LiveTelemetry(
      {
        tracing: o.tracing,
        accessLog: o.accessLog,
        service: o.service,
        namespace: o.namespace,
      },
      o.log,
      () => this.live.rebuildViews(),
    );
    this.live.useTelemetry(this.telemetry);
    registerProxyMetrics(this.metrics, {
      stats: this.stats,
      limitCounters: this.limitCounters,
      live: this.live,
      telemetry: this.telemetry,
      gauges: this.gauges,
    });
    this.configApply = new ConfigApply({
      live: this.live,
      istio: this.istio,
      telemetry: this.telemetry,
      pools: this.pools,
      tls: this.tls,
      inboundPort: () => this.ports.inbound,
      outlierLog: outlierLog(o.log, this.stats),
      random: o.random,
      log: o.log,
    });
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
    return this.live.runtime !== undefined && this.configApply.telemetryReady && !this.draining;
  }

  /** Resolves once the first complete configuration is applied, its tracer included. */
  async waitReady(timeoutMs: number): Promise<void> {
    if (!this.live.runtime) await this.xds?.ready(timeoutMs);
    await this.configApply.firstTelemetry();
  }

  /** Resolves once the tracer the configuration in force asks for runs (or failed to start). */
  telemetryApplied(): Promise<void> {
    return this.configApply.lastTelemetry();
  }

  get config(): RuntimeConfig | undefined {
    return this.live.runtime;
  }

  /** Whether a /tap subscriber is connected to either listener now. */
  get tapping(): boolean {
    return this.data?.tapHub?.points.some((p) => p.active) ?? false;
  }

  /** TCP forward listeners' ports, in the order of the tcpForwards option. */
  get tcpForwardPorts(): number[] {
    return (this.data?.tcpForwards ?? []).map((s) => (s.address() as net.AddressInfo).port);
  }

  /** This workload's SPIFFE ID, from its current certificate. */
  get principal(): string | undefined {
    const chain = this.settings.certificates?.current()?.chain;
    if (!chain) return undefined;
    try {
      return spiffeIds(new X509Certificate(chain).subjectAltName)[0];
    } catch {
      return undefined;
    }
  }

  private get listeners(): HttpListener[] {
    return this.data ? [this.data.outbound, this.data.inbound] : [];
  }

  private async listen(): Promise<void> {
    const o = this.settings;
    // `::` is dual-stack; without IPv6 on the machine it falls back to 0.0.0.0 (logged).
    const bind = await usableBindAddress(o.bind, o.log);
    await this.telemetry.start();
    this.data = await listenDataPath({
      settings: o,
      bind,
      live: this.live,
      pools: this.pools,
      stats: this.stats,
      limitCounters: this.limitCounters,
      istio: this.istio,
      telemetry: this.telemetry,
      tls: this.tls,
      nodeId: this.nodeId,
    });
    const self = this;
    const sources = adminSources({
      settings: o,
      get ports() {
        return self.ports;
      },
      live: this.live,
      stats: this.stats,
      limitCounters: this.limitCounters,
      gauges: this.gauges,
      get xds() {
        return self.xds;
      },
      tapHub: this.data.tapHub,
      get draining() {
        return self.draining;
      },
      get ready() {
        return self.ready;
      },
      drain: () => {
        this.draining = true;
        for (const l of this.listeners) void l.close(o.drainMs);
      },
      quit: () => {
        void this.stop().then(() => o.onQuit?.());
      },
      prometheus: () => this.metrics.render(),
    });
    this.adminView = sources;
    if (o.localPorts === false) {
      this.ports = {
        ...this.ports,
        inbound: this.data.inbound.port,
        outbound: this.data.outbound.port,
      };
      return;
    }
    const local = await listenLocalServers(o, bind, sources);
    this.locals = [local.admin, local.metrics, local.ready];
    this.ports = {
      inbound: this.data.inbound.port,
      outbound: this.data.outbound.port,
      admin: local.admin.port,
      metrics: local.metrics.port,
      ready: local.ready.port,
    };
    o.log.info({ node: this.nodeId, ports: this.ports }, 'sidecar listening');
  }

  private connect(): void {
    const feed = this.settings.feed;
    if (feed) {
      feed.onConfig((source) => {
        this.configApply.apply(source);
        this.settings.onApplied?.(source.version);
      });
      feed.start();
      return;
    }
    const xds = createXdsConnection(this.settings, this.ports, this.compiler.compile);
    this.xds = xds;
    xds.onConfig((source) => this.configApply.apply(source));
    xds.start();
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

  /**
   * The last resort for an error nothing handled (the CLI routes the process's
   * 'uncaughtException' here): logged and counted rather than ending every connection of
   * the pod. Each one is a bug to fix where the failing object was made.
   */
  uncaught(err: unknown): void {
    this.stats.uncaughtErrors++;
    this.settings.log.error({ err }, 'uncaught error in the sidecar (a bug): the process goes on');
  }

  /** Stops accepting, drains what is in flight (up to drainMs), then closes everything. */
  stop(drainMs = this.settings.drainMs): Promise<void> {
    this.stopping ??= (async () => {
      this.draining = true;
      for (const s of this.data?.tcpForwards ?? []) s.close();
      await Promise.all(this.listeners.map((l) => l.close(drainMs)));
      this.data?.mirror.close();
      this.xds?.close();
      this.settings.feed?.close();
      await this.pools.close();
      await this.telemetry.close();
      await Promise.all(this.locals.map((l) => l.close()));
    })();
    return this.stopping;
  }
}
