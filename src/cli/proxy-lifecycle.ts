// How a started data-plane process (`ferry proxy`, `ferry gateway`) lives until a signal, and
// how one of its `--concurrency N` workers is handed to the primary: both commands do the same.
import type { Logger } from '../log/index.js';
import type { ClusterView } from '../proxy/admin/index.js';
import type { WorkerFeed } from '../proxy/workers/index.js';

/** What the commands' primaries and single processes have in common for shutdown. */
export interface Stoppable {
  stop(drainMs: number): Promise<void>;
}

/**
 * A single-process (or worker) proxy: it drains, reports metrics and clusters, and counts
 * stray errors.
 */
export interface ServedProxy extends Stoppable {
  workerMetrics(): { text: string; stats: Record<string, number | string> };
  workerClusters(): ClusterView[];
  uncaught(err: unknown): void;
}

/**
 * SIGTERM/SIGINT drain `proxy` for up to `drainMs`, close the identity, then exit. A
 * `single` process also counts an error that escaped its handler (ferry_proxy_uncaught_errors_total)
 * instead of letting it end every connection of the pod; a primary has no connections.
 */
export function stopOnSignal(
  proxy: Stoppable,
  single: ServedProxy | undefined,
  drainMs: number,
  identity: { identity: { close(): void } } | undefined,
  log: Logger,
): void {
  const stop = async () => {
    log.info('SIGTERM: draining');
    await proxy.stop(drainMs);
    identity?.identity.close();
    process.exit(0);
  };
  if (single) process.on('uncaughtException', (err) => single.uncaught(err));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * A worker answers its primary's metrics and drain requests; signals are the primary's to
 * handle (the worker ignores them and is drained over IPC).
 */
export function serveWorker(feed: WorkerFeed, proxy: ServedProxy): void {
  feed.serve({
    metrics: () => proxy.workerMetrics(),
    clusters: () => proxy.workerClusters(),
    drain: (ms) => proxy.stop(ms),
  });
  process.on('uncaughtException', (err) => proxy.uncaught(err));
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
}
