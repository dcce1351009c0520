/**
 * `ferry proxy --concurrency N` (N > 1): the sidecar's primary process. It holds the one xDS
 * stream (each resource compiled here as a worker compiles it) and the one workload
 * identity, forks N workers that share the inbound and outbound sockets (src/proxy/workers),
 * and serves the admin, metrics and readiness ports for all of them: /stats/prometheus is
 * every worker's metrics summed, /stats/workers each worker's own, /healthz/ready is ready
 * once every worker runs a configuration. Drain reaches every worker. The node it announces
 * carries the workers' ports (a port asked for as 0 is chosen once and shared by all).
 */
import type { AdminSources } from '../admin/index.js';
import { usableBindAddress } from '../listener/index.js';
import { ResourceCompiler } from '../runtime/index.js';
import { WorkerPrimary } from '../workers/index.js';
import { listenLocalServers } from './local-servers.js';
import {
  resolveSidecarOptions,
  type SidecarOptions,
  type SidecarSettings,
} from './sidecar-options.js';
import { createXdsConnection } from './xds-connection.js';

/** The key prefix of a TCP forward's port in a worker's `listening` report: `tcp.<index>`. */
export const TCP_FORWARD_PORT = 'tcp';

const indexOf = (key: string) => Number(key.slice(TCP_FORWARD_PORT.length + 1));

export class SidecarPrimary extends WorkerPrimary {
  private readonly settings: SidecarSettings;
  ports = { inbound: 0, outbound: 0, admin: 0, metrics: 0, ready: 0 };
  /** The TCP forward listeners' ports, in the order of the tcpForwards option. */
  tcpForwardPorts: number[] = [];

  private constructor(settings: SidecarSettings, workers: number) {
    super(settings.nodeId, workers, settings, settings.drainMs);
    this.settings = settings;
  }

  static async start(options: SidecarOptions, workers: number): Promise<SidecarPrimary> {
    const p = new SidecarPrimary(resolveSidecarOptions(options), workers);
    await p.launch();
    return p;
  }

  /** The workers' shared data ports, which the primary reports as its own. */
  protected override async workersStarted(): Promise<void> {
    const shared = await this.pool.listening();
    this.ports.inbound = shared.inbound ?? 0;
    this.ports.outbound = shared.outbound ?? 0;
    this.tcpForwardPorts = Object.keys(shared)
      .filter((k) => k.startsWith(`${TCP_FORWARD_PORT}.`))
      .sort((a, b) => indexOf(a) - indexOf(b))
      .map((k) => shared[k] ?? 0);
  }

  protected async listen(): Promise<void> {
    const o = this.settings;
    const bind = await usableBindAddress(o.bind, o.log);
    const local = await listenLocalServers(o, bind, this.primaryAdminSources(), this.workerRoutes);
    this.locals.push(local.admin, local.metrics, local.ready);
    this.ports.admin = local.admin.port;
    this.ports.metrics = local.metrics.port;
    this.ports.ready = local.ready.port;
  }

  protected connect(): void {
    const o = this.settings;
    const xds = createXdsConnection(
      o,
      this.ports,
      new ResourceCompiler().compile,
      this.pool.confirm,
    );
    this.follow(xds);
  }

  private primaryAdminSources(): AdminSources {
    const o = this.settings;
    return this.adminSources(() => ({
      xds: { address: o.xds, mode: o.mode, tls: o.xdsCredentials !== undefined },
      workload: { service: o.service, namespace: o.namespace, appPort: o.appPort },
    }));
  }
}
