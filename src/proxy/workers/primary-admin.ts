/**
 * The admin sources of a `--concurrency N` primary (sidecar or gateway): it serves no traffic
 * itself, so clusters and its own Prometheus text are empty (the metrics port sums the
 * workers', see primary-routes.ts), /stats is the workers' last summed stats, and drain/quit
 * reach every worker through the primary's stop. Only the config dump differs per proxy kind.
 */
import type { Logger } from '../../log/index.js';
import { type AdminSources, certificateView, logLevelSources, serverInfo } from '../admin/index.js';
import type { CertificateSource } from '../tls/index.js';
import type { WorkerPool } from './worker-pool.js';

/** What a primary tells its admin sources about itself. */
export interface PrimaryState {
  readonly nodeId: string;
  readonly pool: WorkerPool;
  readonly certificates: CertificateSource | undefined;
  readonly log: Logger;
  readonly onQuit: (() => void) | undefined;
  draining(): boolean;
  ready(): boolean;
  /** The configuration version in force (0 before the first). */
  version(): number;
  stop(): Promise<void>;
}

export function primaryAdminSources(primary: PrimaryState, configDump: () => object): AdminSources {
  let lastStats: Record<string, number | string> = {};
  return {
    configDump,
    clusters: () => [],
    stats: () => {
      // Refreshed in the background: the admin's /stats is synchronous.
      void primary.pool.metrics().then((m) => {
        lastStats = m.stats;
      });
      return { ...lastStats, workers: primary.pool.size };
    },
    prometheus: () => '',
    certs: () => certificateView(primary.certificates),
    serverInfo: () =>
      serverInfo(
        primary.nodeId,
        primary.draining() ? 'DRAINING' : primary.ready() ? 'LIVE' : 'INITIALIZING',
        primary.version(),
      ),
    ...logLevelSources(primary.log),
    ready: () => primary.ready(),
    drain: () => {
      void primary.stop();
    },
    quit: () => {
      void primary.stop().then(() => primary.onQuit?.());
    },
  };
}
