/**
 * What every `--concurrency N` primary (sidecar or gateway) is: it holds the one xDS stream
 * and the local admin/metrics/ready ports, forwards each configuration to the worker pool,
 * is ready once every worker runs the first one, and stops by draining the workers first.
 * It serves no traffic itself, so its own clusters and Prometheus text are empty: the admin
 * port's /clusters and the metrics port's /stats/prometheus are the workers' (see
 * primary-routes.ts), and so is /stats (their admin stats summed). Each kind adds how it listens, connects and dumps its configuration.
 */
import type http from 'node:http';
import type { Logger } from '../../log/index.js';
import type { ProxyConfig, XdsClient } from '../../xds-client/index.js';
import {
  type AdminRole,
  type AdminSources,
  certificateView,
  type LocalServer,
  logLevelSources,
  serverInfo,
} from '../admin/index.js';
import type { CertificateSource } from '../tls/index.js';
import { withWorkerRoutes } from './primary-routes.js';
import { WorkerPool } from './worker-pool.js';

export interface PrimarySettings {
  readonly log: Logger;
  readonly certificates?: CertificateSource;
  readonly onQuit?: () => void;
}

export abstract class WorkerPrimary {
  protected readonly pool: WorkerPool;
  protected readonly locals: LocalServer[] = [];
  protected xds: XdsClient | undefined;
  private firstVersion = 0;
  private draining = false;
  private stopping: Promise<void> | undefined;

  protected constructor(
    readonly nodeId: string,
    workers: number,
    private readonly primary: PrimarySettings,
    private readonly defaultDrainMs: number,
  ) {
    this.pool = new WorkerPool({ workers, log: primary.log, certificates: primary.certificates });
  }

  /** Ready once every worker runs the first configuration (or a later one). */
  get ready(): boolean {
    return !this.draining && this.firstVersion > 0 && this.pool.allApplied(this.firstVersion);
  }

  /**
   * Opens the local ports, forks the workers, lets the kind read what they report, then
   * connects the xDS stream; a failure on the way stops whatever was started.
   */
  protected async launch(): Promise<void> {
    try {
      await this.listen();
      this.pool.start();
      await this.workersStarted();
      this.connect();
    } catch (err) {
      await this.stop(0);
      throw err;
    }
  }

  protected abstract listen(): Promise<void>;
  protected abstract connect(): void;
  /** After the fork: a kind whose workers report their shared ports reads them here. */
  protected async workersStarted(): Promise<void> {}

  /** The local ports' routes: the workers' summed metrics and stats, then the primary's own. */
  protected readonly workerRoutes = (role: AdminRole, next: http.RequestListener) =>
    withWorkerRoutes(this.pool, role, next, () => this.xds?.status().connected === true);

  /** The local ports, shown in the config dump. */
  abstract readonly ports: object;

  /** Takes the primary's xDS stream: each configuration it validates goes to every worker. */
  protected follow(xds: XdsClient): void {
    this.xds = xds;
    xds.onConfig((config) => this.configure(config));
    xds.start();
  }

  private configure(config: ProxyConfig): void {
    if (this.firstVersion === 0) this.firstVersion = config.version;
    this.pool.configure(config);
    this.primary.log.info(
      { version: config.version, workers: this.pool.size },
      'configuration sent to the workers',
    );
  }

  /** Stops every worker (each drains up to drainMs), then the xDS stream and the ports. */
  stop(drainMs = this.defaultDrainMs): Promise<void> {
    this.stopping ??= (async () => {
      this.draining = true;
      await this.pool.stop(drainMs);
      this.xds?.close();
      await Promise.all(this.locals.map((l) => l.close()));
    })();
    return this.stopping;
  }

  /**
   * `bootstrap` is what the config dump shows of this kind's startup options (beside the
   * ports and mTLS); `more` adds kind-specific sections after the common ones.
   */
  protected adminSources(bootstrap: () => object, more: () => object = () => ({})): AdminSources {
    const o = this.primary;
    return {
      configDump: () => ({
        node: this.nodeId,
        bootstrap: { ...bootstrap(), ports: this.ports, mtls: o.certificates !== undefined },
        xds: this.xds?.status(),
        version: this.xds?.current()?.version ?? 0,
        workers: this.pool.applied(),
        ...more(),
      }),
      clusters: () => [],
      // The admin port's /stats is the workers' summed, answered by the worker routes.
      stats: () => ({ workers: this.pool.size }),
      prometheus: () => '',
      certs: () => certificateView(o.certificates),
      serverInfo: () =>
        serverInfo(
          this.nodeId,
          this.draining ? 'DRAINING' : this.ready ? 'LIVE' : 'INITIALIZING',
          this.xds?.current()?.version ?? 0,
        ),
      ...logLevelSources(o.log),
      ready: () => this.ready,
      drain: () => {
        void this.stop();
      },
      quit: () => {
        void this.stop().then(() => o.onQuit?.());
      },
    };
  }
}
