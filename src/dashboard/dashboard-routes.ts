/**
 * The dashboard's HTTP routes on the control plane's port: `/` (the page) and
 * `/dashboard/api/{graph,sidecars,service?id=name.namespace,targets}` (JSON it polls).
 */
import { graphJson, serviceJson, sidecarsJson } from './dashboard-api.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import type { MeshStats } from './mesh-stats.js';
import type { MeshView } from './mesh-view.js';
import type { StatsSource } from './metrics-scraper.js';

export interface DashboardReply {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function json(status: number, value: unknown): DashboardReply {
  return { status, type: JSON_TYPE, body: `${JSON.stringify(value)}\n` };
}

/** With no stats source configured, the graph still shows the declared services. */
function emptyStats(at: number): MeshStats {
  return { at, windowSeconds: 0, source: 'sidecars', edges: [], services: [] };
}

/** The reply for a dashboard path, or undefined when the path is not the dashboard's. */
export async function dashboardRoute(
  pathname: string,
  params: URLSearchParams,
  stats: StatsSource | undefined,
  mesh: MeshView,
  now: () => number = Date.now,
): Promise<DashboardReply | undefined> {
  if (pathname === '/' || pathname === '/dashboard' || pathname === '/dashboard/') {
    return { status: 200, type: 'text/html; charset=utf-8', body: DASHBOARD_HTML };
  }
  if (!pathname.startsWith('/dashboard/api/')) return undefined;
  const targets = stats?.targets() ?? [];
  const current = async () => (stats ? await stats.stats() : emptyStats(now()));
  try {
    switch (pathname) {
      case '/dashboard/api/graph': {
        const s = await current();
        return json(200, {
          ...graphJson(s, mesh),
          version: mesh.version(),
          sidecars: sidecarsJson(mesh, targets),
        });
      }
      case '/dashboard/api/sidecars':
        return json(200, sidecarsJson(mesh, targets));
      case '/dashboard/api/targets':
        return json(200, targets);
      case '/dashboard/api/service': {
        const id = params.get('id');
        if (!id)
          return json(400, { error: 'the query parameter id=<name>.<namespace> is required' });
        const detail = serviceJson(
          id,
          await current(),
          mesh,
          targets,
          stats?.endpointVerdicts?.() ?? [],
        );
        if (!detail) return json(404, { error: `no service "${id}" in the mesh or its metrics` });
        return json(200, detail);
      }
      default:
        return json(404, { error: `no such endpoint ${pathname}` });
    }
  } catch (err) {
    return json(502, { error: `cannot read the metrics: ${(err as Error).message}` });
  }
}
