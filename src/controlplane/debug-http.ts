/**
 * The control plane's HTTP port (15014): /healthz, /metrics, /debug/syncz,
 * /debug/config_dump?node=ID, /debug/registry, and the live dashboard at / with its JSON
 * under /dashboard/api/.
 */
import http from 'node:http';
import { dashboardRoute, type MeshView, type StatsSource } from '../dashboard/index.js';
import type { MetricsRegistry } from '../metrics/index.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/index.js';
import { versionInfo } from '../version/index.js';
import { types } from '../xds/index.js';
import type { AdsServer } from './ads-server.js';
import { debugAccess } from './debug-access.js';
import type { Registry } from './registry.js';
import type { SnapshotCache } from './snapshot-cache.js';

export interface DebugSources {
  readonly ads: AdsServer;
  readonly cache: SnapshotCache;
  readonly registry: Registry;
  readonly metrics: MetricsRegistry;
  /** The last rejected mesh file change, if any. */
  readonly configError: () => string | undefined;
  /** The CA's and the webhook's health (`ferry check`). */
  readonly checks?: () => object;
  /** `ferry analyze` of the mesh file on disk with the live view; absent without a file. */
  readonly analyze?: () => Promise<object>;
  /**
   * Where the dashboard's numbers come from: the sidecars' metrics (a MetricsScraper) or
   * Prometheus. Absent: the dashboard shows the services and sidecars without numbers.
   */
  readonly dashboard?: StatsSource;
  /**
   * Lets clients other than loopback read the endpoints that reveal the mesh, with
   * `Authorization: Bearer <token>`. Absent: only loopback clients may.
   */
  readonly debugToken?: string;
}

/** The control plane as the dashboard sees it. */
function meshView(sources: DebugSources): MeshView {
  return {
    clients: () => sources.ads.status(),
    config: () => sources.cache.config,
    version: () => sources.cache.version,
    configError: () => {
      const last = sources.cache.lastError;
      return sources.configError() ?? (last ? last.errors.join('\n') : undefined);
    },
  };
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value, null, 2)}\n`);
}

/** What a node has: its snapshot's resources in Envoy's JSON form, with versions. */
export function configDump(sources: DebugSources, nodeId: string | null): object | undefined {
  const stream = nodeId ? sources.ads.streamOf(nodeId) : undefined;
  if (nodeId && !stream) return undefined;
  const snapshot = sources.cache.snapshotFor(
    stream?.workload,
    stream?.gateway,
    !stream?.registrationRefused,
  );
  const resources: Record<string, object[]> = {};
  for (const [typeUrl, set] of snapshot.types) {
    resources[types.shortTypeName(typeUrl)] = [...set.byName.values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((r) => ({
        name: r.name,
        version: r.version,
        on_demand: !set.wildcard.has(r.name) || undefined,
        resource: { '@type': typeUrl, ...redacted(typeUrl, r.value) },
      }));
  }
  return {
    node: nodeId ?? '(shared: what a client without a workload gets)',
    version: snapshot.version,
    sync: stream?.status().types,
    resources,
  };
}

/** A gateway's Secret without its private key, as Envoy's config_dump shows one. */
function redacted(typeUrl: string, value: object): object {
  if (typeUrl !== types.SECRET) return value;
  const secret = value as { tls_certificate?: Record<string, unknown> };
  if (!secret.tls_certificate) return value;
  return {
    ...value,
    tls_certificate: { ...secret.tls_certificate, private_key: { inline_string: '[redacted]' } },
  };
}

/** The endpoints that reveal the mesh: loopback or the debug token only. */
const PROTECTED: ReadonlySet<string> = new Set([
  '/debug/syncz',
  '/debug/config_dump',
  '/debug/registry',
  '/debug/analyze',
  '/debug/checks',
]);

export function createDebugServer(sources: DebugSources): http.Server {
  const view = meshView(sources);
  const access = debugAccess(sources.debugToken);
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(res, 405, { error: `method ${req.method} not allowed` });
    }
    if (url.pathname === '/' || url.pathname.startsWith('/dashboard')) {
      dashboardRoute(url.pathname, url.searchParams, sources.dashboard, view).then(
        (reply) => {
          if (reply) send(res, reply.status, reply.type, reply.body);
          else json(res, 404, { error: `no such endpoint ${url.pathname}` });
        },
        (err: Error) => json(res, 500, { error: err.message }),
      );
      return;
    }
    if (PROTECTED.has(url.pathname)) {
      const refusal = access(req);
      if (refusal) {
        res.writeHead(refusal.status, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
          ...(refusal.status === 401 ? { 'www-authenticate': 'Bearer realm="ferry-debug"' } : {}),
        });
        res.end(`${JSON.stringify({ error: refusal.message })}\n`);
        return;
      }
    }
    switch (url.pathname) {
      case '/healthz':
        return send(res, 200, 'text/plain', 'ok\n');
      case '/version':
        return json(res, 200, versionInfo());
      case '/metrics':
        return send(res, 200, PROMETHEUS_CONTENT_TYPE, sources.metrics.render());
      case '/debug/syncz':
        return json(res, 200, {
          version: sources.cache.version,
          rejectedConfig: sources.configError() ?? sources.cache.lastError ?? null,
          clients: sources.ads.status(),
        });
      case '/debug/config_dump': {
        const node = url.searchParams.get('node');
        const dump = configDump(sources, node);
        if (!dump) return json(res, 404, { error: `no connected client has node id "${node}"` });
        return json(res, 200, dump);
      }
      case '/debug/checks':
        return json(res, 200, sources.checks?.() ?? { ca: null, webhook: null });
      case '/debug/analyze':
        if (!sources.analyze) {
          return json(res, 404, {
            error: 'this control plane was given its configuration in memory, not a mesh file',
          });
        }
        sources.analyze().then(
          (result) => json(res, 200, result),
          (err: Error) => json(res, 500, { error: `cannot analyze the mesh file: ${err.message}` }),
        );
        return;
      case '/debug/registry':
        return json(res, 200, {
          version: sources.cache.version,
          config: sources.cache.config,
          workloads: sources.registry.workloads().map((w) => ({
            ...w,
            connected: sources.registry.isConnected(w.id),
          })),
          refusedRegistrations: sources.ads.refusedRegistrations(),
        });
      case '/debug':
      case '/debug/':
        return send(
          res,
          200,
          'text/plain; charset=utf-8',
          'Ferry control plane\n\n/ (dashboard)\n/healthz\n/version\n/metrics\n/debug/syncz\n/debug/config_dump?node=ID\n/debug/analyze\n/debug/checks\n/debug/registry\n/dashboard/api/graph\n/dashboard/api/sidecars\n/dashboard/api/service?id=NAME.NAMESPACE\n/dashboard/api/targets\n',
        );
      default:
        return json(res, 404, { error: `no such endpoint ${url.pathname}` });
    }
  });
}
