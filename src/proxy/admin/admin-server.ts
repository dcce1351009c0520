/**
 * The sidecar's local HTTP endpoints: admin (127.0.0.1 only: /config_dump, /clusters,
 * /stats, /tap, /certs, /server_info, /logging, /drain, /quitquitquit, as Envoy's admin
 * API names them: https://www.envoyproxy.io/docs/envoy/latest/operations/admin), readiness (/healthz/ready) and Prometheus metrics
 * (/stats/prometheus). Each port is its own small server; one router serves them all.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/index.js';
import { serveTap, type TapHub } from '../tap/index.js';

export interface AdminSources {
  /** The resources in force, with versions, and xDS status. */
  configDump(): object;
  /** Every cluster and endpoint with health and counters. */
  clusters(): ClusterView[];
  stats(): Record<string, number | string>;
  /** The workload certificate chain and the roots it trusts (never key material). */
  certs(): object;
  /** Version, node id, uptime and state. */
  serverInfo(): object;
  /** The log level in force, and a way to change it while running. */
  logLevel(): string;
  setLogLevel(level: string): void;
  prometheus(): string;
  ready(): boolean;
  /** Starts draining: stop accepting, tell clients to go away. */
  drain(): void;
  /** Drains and exits. */
  quit(): void;
  /** Live requests for GET /tap (absent: the sidecar was started without tap points). */
  readonly tap?: TapHub;
}

/** A cluster as GET /clusters shows it. */
export interface ClusterView {
  readonly name: string;
  readonly policy: string;
  readonly protocol: string;
  /** Thresholds and what is in flight (see cluster/circuit-breakers). */
  readonly circuit_breakers: object;
  readonly hosts: readonly HostView[];
}

export interface HostView {
  readonly address: string;
  readonly health: string;
  readonly healthy: boolean;
  readonly active: number;
  readonly rqTotal: number;
  readonly rqError: number;
  readonly ejected: boolean;
  readonly failedHealthCheck?: boolean;
  readonly priority: number;
  readonly weight: number;
  readonly zone: string;
  /**
   * A primary of `--concurrency N` only: how many workers have the host, and in how many it
   * is not healthy (its health check failed there, or outlier detection ejected it there).
   */
  readonly workers?: { readonly of: number; readonly unhealthy: number };
}

function reply(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  reply(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value, null, 2)}\n`);
}

function clustersText(clusters: readonly ClusterView[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    lines.push(`${c.name}::policy::${c.policy}`, `${c.name}::protocol::${c.protocol}`);
    for (const h of c.hosts) {
      const p = `${c.name}::${h.address}`;
      lines.push(
        `${p}::health_flags::${h.ejected ? '/failed_outlier_check' : h.healthy ? 'healthy' : `/${h.health.toLowerCase()}`}`,
        `${p}::weight::${h.weight}`,
        `${p}::priority::${h.priority}`,
        `${p}::zone::${h.zone}`,
        `${p}::rq_active::${h.active}`,
        `${p}::rq_total::${h.rqTotal}`,
        `${p}::rq_error::${h.rqError}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** GET /clusters: Envoy's text lines, or `?format=json`. */
export function serveClusters(
  res: http.ServerResponse,
  url: URL,
  clusters: readonly ClusterView[],
): void {
  if (url.searchParams.get('format') === 'json') json(res, 200, { clusters });
  else reply(res, 200, 'text/plain; charset=utf-8', clustersText(clusters));
}

/** GET /stats: `name: value` lines, or `?format=json`. */
export function serveStats(
  res: http.ServerResponse,
  url: URL,
  stats: Readonly<Record<string, number | string>>,
): void {
  if (url.searchParams.get('format') === 'json') {
    json(res, 200, stats);
    return;
  }
  const text = Object.entries(stats)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  reply(res, 200, 'text/plain; charset=utf-8', `${text}\n`);
}

/** Levels POST /logging accepts (pino's, as the --log-level flag takes them). */
export const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export type AdminRole = 'admin' | 'ready' | 'metrics';

export function createAdminHandler(role: AdminRole, sources: AdminSources): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/healthz/ready' || (role === 'admin' && path === '/ready')) {
      return sources.ready()
        ? reply(res, 200, 'text/plain', 'LIVE\n')
        : reply(res, 503, 'text/plain', 'not ready\n');
    }
    if (path === '/stats/prometheus' && role !== 'ready') {
      return reply(res, 200, PROMETHEUS_CONTENT_TYPE, sources.prometheus());
    }
    if (role !== 'admin') return reply(res, 404, 'text/plain', `no such endpoint ${path}\n`);
    switch (path) {
      case '/config_dump':
        return json(res, 200, sources.configDump());
      case '/clusters':
        return serveClusters(res, url, sources.clusters());
      case '/stats':
        return serveStats(res, url, sources.stats());
      case '/tap':
        if (!sources.tap) return reply(res, 404, 'text/plain', 'tap is off in this sidecar\n');
        return serveTap(req, res, sources.tap, url.searchParams);
      case '/certs':
        return json(res, 200, sources.certs());
      case '/server_info':
        return json(res, 200, sources.serverInfo());
      case '/logging': {
        // Envoy's POST /logging?level=LEVEL; a GET only reads.
        const level = url.searchParams.get('level');
        if (level === null) return json(res, 200, { level: sources.logLevel() });
        if (req.method !== 'POST') return reply(res, 405, 'text/plain', 'use POST to change\n');
        if (!LOG_LEVELS.includes(level)) {
          return json(res, 400, {
            error: `unknown log level "${level}"; one of ${LOG_LEVELS.join(', ')}`,
          });
        }
        sources.setLogLevel(level);
        return json(res, 200, { level: sources.logLevel() });
      }
      case '/drain':
      case '/drain_listeners':
        if (req.method !== 'POST') return reply(res, 405, 'text/plain', 'use POST\n');
        sources.drain();
        return reply(res, 200, 'text/plain', 'draining\n');
      case '/quitquitquit':
        if (req.method !== 'POST') return reply(res, 405, 'text/plain', 'use POST\n');
        reply(res, 200, 'text/plain', 'OK\n');
        setImmediate(() => sources.quit());
        return;
      case '/':
        return reply(
          res,
          200,
          'text/plain',
          'Ferry sidecar admin\n\n/config_dump\n/clusters\n/stats\n/certs\n/server_info\n/logging\nPOST /logging?level=LEVEL\n/ready\n/stats/prometheus\n/tap?method=&path=&authority=&to=&from=&direction=&max_rps=\nPOST /drain\nPOST /quitquitquit\n',
        );
      default:
        return reply(res, 404, 'text/plain', `no such endpoint ${path}\n`);
    }
  };
}

export interface LocalServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function listenLocal(
  host: string,
  port: number,
  handler: http.RequestListener,
): Promise<LocalServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
