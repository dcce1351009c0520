/**
 * `ferry gateway --concurrency N` (N > 1): the primary process. It holds the one xDS stream
 * (resources validated here exactly as a worker compiles them, so what it ACKs every worker
 * can apply) and the one workload identity, forks N workers that share the listening
 * sockets (src/proxy/workers), and serves the admin, metrics and readiness ports for all of
 * them: /stats/prometheus is every worker's metrics summed, /healthz/ready is ready once
 * every worker runs a configuration. Drain reaches every worker.
 */
import type { AdminSources } from '../admin/index.js';
import { WorkerPrimary } from '../workers/index.js';
import {
  type GatewayOptions,
  gatewayIdentity,
  gatewayXdsClient,
  openLocalPorts,
} from './gateway.js';

export class GatewayPrimary extends WorkerPrimary {
  ports = { admin: 0, metrics: 0, ready: 0 };

  private constructor(
    private readonly options: GatewayOptions,
    workers: number,
  ) {
    super(gatewayIdentity(options).nodeId, workers, options, options.drainMs ?? 5000);
  }

  static async start(options: GatewayOptions, workers: number): Promise<GatewayPrimary> {
    const p = new GatewayPrimary(options, workers);
    await p.launch();
    return p;
  }

  protected async listen(): Promise<void> {
    const o = this.options;
    const sources = this.primaryAdminSources();
    this.ports = await openLocalPorts(o, sources, this.locals, this.workerRoutes);
  }

  protected connect(): void {
    const o = this.options;
    const xds = gatewayXdsClient(
      o,
      this.nodeId,
      gatewayIdentity(o).namespace,
      this.ports,
      this.pool.confirm,
    );
    this.follow(xds);
  }

  private primaryAdminSources(): AdminSources {
    const o = this.options;
    return this.adminSources(
      () => ({
        xds: { address: o.xds, mode: o.xdsMode ?? 'delta', tls: o.xdsCredentials !== undefined },
        gateway: { gateway: o.gateway, mode: o.mode ?? 'gateway' },
      }),
      () => ({
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
      }),
    );
  }
}
