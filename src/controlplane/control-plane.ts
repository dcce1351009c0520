/**
 * The control plane, wired: mesh file -> registry (+ auto-registered workloads) ->
 * debounced, checked snapshots -> ADS streams; plus the debug HTTP port.
 */
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/index.js';
import { loadMeshFile, type MeshConfig, type MeshFileError, watchMeshFile } from '../mesh/index.js';
import { type CounterChild, MetricsRegistry } from '../metrics/index.js';
import { createAdsMetrics } from './ads-metrics.js';
import { AdsServer } from './ads-server.js';
import { createDebugServer } from './debug-http.js';
import { Registry } from './registry.js';
import { SnapshotCache } from './snapshot-cache.js';

export interface ControlPlaneOptions {
  /** The mesh file; watched for changes. Either this or `config`. */
  readonly configPath?: string;
  readonly config?: MeshConfig;
  /** Address to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** xDS gRPC port (plaintext). Default 15010; 0 picks a free port. */
  readonly xdsPort?: number;
  /** HTTP debug port. Default 15014; 0 picks a free port. */
  readonly httpPort?: number;
  readonly gracePeriodMs?: number;
  readonly debounceMs?: number;
  /**
   * After start, sidecars that reconnect with a config in hand are held (they keep serving
   * it) for this long, so that workloads which register by connecting can come back first.
   * Default 5 s; 0 turns it off.
   */
  readonly warmupMs?: number;
  readonly log: Logger;
}

/** A startup failure the CLI reports as one clear line. */
export class ControlPlaneError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

export class ControlPlane {
  private watcher: { close(): void } | undefined;
  private configErrorText: string | undefined;
  private reloadCounters: { applied: CounterChild; rejected: CounterChild } | undefined;
  private readonly grpcServer = new grpc.Server({
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
  });
  private httpServer: http.Server | undefined;
  xdsPort = 0;
  httpPort = 0;

  private constructor(
    readonly registry: Registry,
    readonly cache: SnapshotCache,
    readonly ads: AdsServer,
    readonly metrics: MetricsRegistry,
    private readonly log: Logger,
  ) {}

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const log = options.log;
    const initial = options.config ?? (await loadMeshFile(requirePath(options.configPath)));
    const registry = new Registry(initial, { gracePeriodMs: options.gracePeriodMs });
    const cache = new SnapshotCache(registry, { debounceMs: options.debounceMs, log });
    cache.start();
    const metrics = new MetricsRegistry();
    const ads = new AdsServer({
      cache,
      registry,
      log,
      metrics: createAdsMetrics(metrics),
      controlPlaneId: 'ferry',
      warmupMs: options.warmupMs ?? 5000,
    });
    const cp = new ControlPlane(registry, cache, ads, metrics, log);
    cp.registerMetrics();
    try {
      await cp.listen(
        options.host ?? '127.0.0.1',
        options.xdsPort ?? 15010,
        options.httpPort ?? 15014,
      );
    } catch (err) {
      await cp.close();
      throw err;
    }
    if (options.configPath) cp.watch(options.configPath);
    return cp;
  }

  private registerMetrics(): void {
    const reloads = this.metrics.counter(
      'ferry_config_reloads_total',
      'Mesh file changes, by result (applied or rejected).',
      ['result'],
    );
    const applied = reloads.labels('applied');
    const rejected = reloads.labels('rejected');
    const workloads = this.metrics.gauge(
      'ferry_registered_workloads',
      'Workloads auto-registered now.',
    );
    const version = this.metrics.gauge(
      'ferry_snapshot_version',
      'Generation of the published snapshot.',
    );
    const w = workloads.labels();
    const v = version.labels();
    v.set(Number(this.cache.version));
    this.registry.watch(() => w.set(this.registry.workloads().length));
    this.cache.onPublish((ver) => v.set(Number(ver)));
    this.reloadCounters = { applied, rejected };
  }

  private watch(path: string): void {
    // A short watch debounce: an edit is usually one rename or one write.
    this.watcher = watchMeshFile(
      path,
      {
        onConfig: (config) => {
          this.configErrorText = undefined;
          this.reloadCounters?.applied.inc();
          this.log.info({ file: path }, 'mesh file changed; applying');
          this.registry.setMeshConfig(config);
        },
        onError: (err: MeshFileError) => {
          this.configErrorText = err.message;
          this.reloadCounters?.rejected.inc();
          this.log.error(
            { file: path, errors: err.message.split('\n') },
            'mesh file change rejected; the last good configuration stays in force',
          );
        },
      },
      { debounceMs: 20 },
    );
  }

  private async listen(host: string, xdsPort: number, httpPort: number): Promise<void> {
    this.ads.register(this.grpcServer);
    // grpc-js reports a busy port vaguely (and logs it itself), so ask the OS first.
    if (xdsPort !== 0) await assertPortFree('xDS', host, xdsPort);
    this.xdsPort = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(
        `${host}:${xdsPort}`,
        grpc.ServerCredentials.createInsecure(),
        (err, port) => {
          if (err) {
            reject(portError('xDS', host, xdsPort, err));
          } else resolve(port);
        },
      );
    });
    const server = createDebugServer({
      ads: this.ads,
      cache: this.cache,
      registry: this.registry,
      metrics: this.metrics,
      configError: () => this.configErrorText,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(portError('HTTP', host, httpPort, err)));
      server.listen(httpPort, host, () => resolve());
    });
    this.httpServer = server;
    this.httpPort = (server.address() as AddressInfo).port;
    this.log.info(
      { xds: `${host}:${this.xdsPort}`, http: `${host}:${this.httpPort}` },
      'control plane listening',
    );
  }

  /** Stops watching, closes every stream and both ports. */
  async close(): Promise<void> {
    this.watcher?.close();
    this.cache.stop();
    this.ads.close();
    await new Promise<void>((resolve) => {
      this.grpcServer.tryShutdown(() => resolve());
      setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve();
      }, 1000).unref();
    });
    const server = this.httpServer;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

function requirePath(path: string | undefined): string {
  if (!path) throw new ControlPlaneError('FERRY_NO_CONFIG', 'no mesh file given (--config FILE)');
  return path;
}

function portError(what: string, host: string, port: number, err: Error): ControlPlaneError {
  const inUse = /EADDRINUSE|address already in use|No address added/i.test(err.message);
  return new ControlPlaneError(
    inUse ? 'FERRY_PORT_IN_USE' : 'FERRY_LISTEN_FAILED',
    inUse
      ? `${what} port ${host}:${port} is already in use`
      : `cannot listen on ${what} port ${host}:${port}: ${err.message}`,
  );
}

function assertPortFree(what: string, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err) => reject(portError(what, host, port, err)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
