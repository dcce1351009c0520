/**
 * The admin routes of a primary that need its workers, answered asynchronously (the admin
 * handler's sources are synchronous): /stats/prometheus is every worker's metrics summed,
 * /stats (admin port only) every worker's admin stats summed (a count added, the
 * configuration version the highest, a text the last worker's; xds_connected the
 * primary's own), /clusters (admin port only) every worker's clusters as one view
 * (sum-clusters.ts), and
 * /stats/workers (admin port only) is each worker's pid, applied configuration and own
 * stats, so an operator (and a test) sees how connections spread over the workers. The xDS
 * stream is the primary's, so `ferry_proxy_xds_connected` is the primary's own value (the
 * workers, which have no stream, report 0).
 */
import type http from 'node:http';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/index.js';
import { type AdminRole, serveClusters, serveStats } from '../admin/index.js';
import type { WorkerPool } from './worker-pool.js';

export function withWorkerRoutes(
  pool: WorkerPool,
  role: AdminRole,
  next: http.RequestListener,
  xdsConnected: () => boolean,
): http.RequestListener {
  if (role === 'ready') return next;
  return (req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/stats/prometheus')) {
      // The primary's own sample joins the sum: a shared gauge takes the highest value.
      const own = `ferry_proxy_xds_connected ${xdsConnected() ? 1 : 0}\n`;
      void pool.metrics([own]).then(({ text }) => {
        res.writeHead(200, {
          'content-type': PROMETHEUS_CONTENT_TYPE,
          'cache-control': 'no-store',
        });
        res.end(text);
      });
      return;
    }
    if (role === 'admin' && (url === '/stats' || url.startsWith('/stats?'))) {
      void pool.metrics().then(({ stats }) =>
        serveStats(res, new URL(url, 'http://localhost'), {
          ...stats,
          xds_connected: xdsConnected() ? 1 : 0,
        }),
      );
      return;
    }
    if (role === 'admin' && (url === '/clusters' || url.startsWith('/clusters?'))) {
      void pool
        .clusters()
        .then((clusters) => serveClusters(res, new URL(url, 'http://localhost'), clusters));
      return;
    }
    if (role === 'admin' && (url === '/stats/workers' || url.startsWith('/stats/workers?'))) {
      void pool.metrics().then(({ perWorker }) => {
        const applied = new Map(pool.applied().map((a) => [a.id, a]));
        const body = perWorker.map((w) => ({ ...applied.get(w.id), stats: w.stats }));
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(`${JSON.stringify(body, null, 2)}\n`);
      });
      return;
    }
    next(req, res);
  };
}
