/**
 * `ferry gateway --concurrency N` (N > 1): the primary process. It holds the one xDS stream
 * (resources validated here exactly as a worker compiles them, so what it ACKs every worker
 * can apply) and the one workload identity, forks N workers that share the listening
 * sockets (src/proxy/workers), and serves the admin, metrics and readiness ports for all of
 * them: /stats/prometheus is every worker's metrics summed, /healthz/ready is ready once
 * every worker runs a configuration. Drain reaches every worker.
 */
import type { XdsClient } from '../../xds-client/index.js';
import type { AdminSources, LocalServer } from '../admin/index.js';
import {
  type PrimaryState,
  primaryAdminSources,
  WorkerPool,
  withWorkerRoutes,
} from '../workers/index.js';
import {
  type GatewayOptions,
  gatewayIdentity,
  gatewayXdsClient,
  openLocalPorts,
} from './gateway.js';

export class GatewayPrimary {
  readonly nodeId: string;
  private readonly pool: WorkerPool;
  private readonly locals: LocalServer[] = [];
  private xds: XdsClient | undefined;
  private firstVersion = 0;
  private draining = false;
  private stopping: Promise<void> | undefined;
  ports = { admin: 0, metrics: 0, ready: 0 };

  private constructor(
    private readonly options: GatewayOptions,
    workers: number,
  ) {
    this.nodeId = gatewayIdentity(options).nodeId;
    this.pool = new WorkerPool({ workers, log: options.log, certificates: options.certificates });
  }

  static async start(options: GatewayOptions, workers: number): Promise<GatewayPrimary> {
    const p = new GatewayPrimary(options, workers);
    try {
      await p.listen();
      p.pool.start();
      p.connect();
    } catch (err) {
      await p.stop(0);
      throw err;
    }
    return p;
  }

  /** Ready once every worker runs the first configuration (or a later one). */
  get ready(): boolean {
    return !this.draining && this.firstVersion > 0 && this.pool.allApplied(this.firstVersion);
  }

  private async listen(): Promise<void> {
    const o = this.options;
    const sources = this.adminSources();
    this.ports = await openLocalPorts(o, sources, this.locals, (role, next) =>
      withWorkerRoutes(this.pool, role, next, () => this.xds?.status().connected === true),
    );
  }

  private connect(): void {
    const o = this.options;
    const xds = gatewayXdsClient(
      o,
      this.nodeId,
      gatewayIdentity(o).namespace,
      this.ports,
      this.pool.confirm,
    );
    this.xds = xds;
    xds.onConfig((config) => {
      if (this.firstVersion === 0) this.firstVersion = config.version;
      this.pool.configure(config);
      o.log.info(
        { version: config.version, workers: this.pool.size },
        'configuration sent to the workers',
      );
    });
    xds.start();
  }

  /** Stops every worker (each drains up to drainMs), then the xDS stream and the ports. */
  stop(drainMs = this.options.drainMs ?? 5000): Promise<void> {
    this.stopping ??= (async () => {
      this.draining = true;
      await this.pool.stop(drainMs);
      this.xds?.close();
      await Promise.all(this.locals.map((l) => l.close()));
    })();
    return this.stopping;
  }

  private adminSources(): AdminSources {
    const o = this.options;
    const state: PrimaryState = {
      nodeId: this.nodeId,
      pool: this.pool,
      certificates: o.certificates,
      log: o.log,
      onQuit: o.onQuit,
      draining: () => this.draining,
      ready: () => this.ready,
      version: () => this.xds?.current()?.version ?? 0,
      stop: () => this.stop(),
    };
    return primaryAdminSources(state, () => ({
      node: this.nodeId,
      bootstrap: {
        xds: { address: o.xds, mode: o.xdsMode ?? 'delta', tls: o.xdsCredentials !== undefined },
        gateway: { gateway: o.gateway, mode: o.mode ?? 'gateway' },
        ports: this.ports,
        mtls: o.certificates !== undefined,
      },
      xds: this.xds?.status(),
      version: this.xds?.current()?.version ?? 0,
      workers: this.pool.applied(),
      resources: (() => {
        const c = this.xds?.current();
        return c
          ? {
              listeners: [...c.listeners.values()],
              routes: [...c.routes.values()],
              clusters: [...c.clusters.values()],
              endpoints: [...c.endpoints.values()],
              secrets: [...c.secrets.values()].map((s) => ({ name: s.name, version: s.version })),
            }
          : null;
      })(),
    }));
  }
}
