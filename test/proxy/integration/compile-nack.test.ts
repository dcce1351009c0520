/**
 * Validate once (issue 16): every resource is compiled by the sidecar when it arrives, over a
 * real ADS stream from the real control plane, and what does not compile is NACKed with the
 * reason, shown on the control plane's /debug/syncz and counted on the sidecar, while the
 * last good configuration keeps serving. A resource whose bytes did not change is not
 * compiled again, and per-route filters are compiled with their route table, so a request
 * compiles nothing.
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { MeshConfig, Route } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import {
  pushMesh,
  startControlPlane,
  startSidecar,
  waitForHosts,
  waitForQuiet,
} from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

interface SynczClient {
  readonly nodeId: string;
  readonly types: ReadonlyArray<{ readonly type: string; readonly lastNack?: { message: string } }>;
}

const route = (name: string, prefix: string, extra: Partial<Route>): Route => ({
  name,
  match: [{ path: { prefix }, headers: [], queryParams: [] }],
  backends: [],
  ...extra,
});

/** api with a fault route and a rate-limited route; `extra` services beside it. */
function meshWith(app: HttpUpstream, routes: Route[] = [], ...extra: string[]): MeshConfig {
  return mesh(
    service('api', 8080, 'http', [app.port], {
      routes: [
        route('aborts', '/abort', {
          fault: { abort: { httpStatus: 503, percentage: 100 }, headers: [] },
        }),
        route('limited', '/few', {
          rateLimit: { requestsPerUnit: 2, unit: 'minute', burst: 0 },
        }),
        ...routes,
      ],
    }),
    ...extra.map((name) => service(name, 8080, 'http', [app.port])),
  );
}

describe('integration: resources compiled once, NACKed when they do not compile', function () {
  this.timeout(30_000);
  let app: HttpUpstream;
  let cp: ControlPlane;
  let web: Sidecar;

  beforeEach(async () => {
    app = await startHttpUpstream('api-app');
    cp = await startControlPlane(meshWith(app));
    // State of the world: every response carries every resource of its type, so it is what
    // shows whether an unchanged resource is compiled again.
    web = await startSidecar(cp.xdsPort, { service: 'web', mode: 'sotw' });
    await waitForHosts(web, clusterName('api', 8080), 1);
  });

  afterEach(async () => {
    await web?.stop(0);
    await cp?.close();
    await app?.close();
  });

  async function synczOf(nodeId: string): Promise<SynczClient | undefined> {
    const res = await fetch(`http://127.0.0.1:${cp.httpPort}/debug/syncz`);
    const body = (await res.json()) as { clients: SynczClient[] };
    return body.clients.find((c) => c.nodeId === nodeId);
  }

  async function nackOf(type: string): Promise<string> {
    let message = '';
    await waitFor(
      `the ${type} NACK on /debug/syncz`,
      async () => {
        const me = await synczOf(web.nodeId);
        message = me?.types.find((t) => t.type === type)?.lastNack?.message ?? '';
        return message !== '';
      },
      15_000,
    );
    return message;
  }

  it('regression: a cluster that does not compile (an inline endpoint on port 0) is NACKed with the reason, not ACKed and logged', async () => {
    // Structurally valid (port_value 0..65535), refused by the host set: it used to pass
    // validation, be ACKed, and then fail in the runtime build, leaving the control plane
    // showing the sidecar in sync with a configuration it was not running.
    const bad: MeshConfig = {
      ...meshWith(app, [], 'other'),
      mesh: {
        ...meshWith(app).mesh,
        telemetry: {
          tracing: {
            host: '127.0.0.1',
            port: 0,
            protocol: 'grpc',
            path: '/v1/traces',
            sampling: 100,
            propagation: ['w3c'],
          },
        },
      },
    };
    // Once the start-up pushes are over (the sidecar's own registration adds its cluster), so
    // that the clusters compared before and after differ by the rejected response alone.
    await waitForQuiet(cp);
    const names = () => [...(web.config?.clusters.keys() ?? [])].sort();
    const clustersBefore = names();
    cp.registry.setMeshConfig(bad);
    const message = await nackOf('CDS');
    assert.match(message, /endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address/);
    assert.match(message, /port_value: .*must be 1\.\.65535, got 0/);
    // Nothing of the rejected response is in force: neither the collector nor `other`.
    assert.equal(web.config?.clusters.has(clusterName('other', 8080)), false);
    assert.deepEqual(names(), clustersBefore);
    // The last good configuration serves.
    const r = await send(web.ports.outbound, { host: 'api:8080', path: '/x' });
    assert.equal(r.status, 200);
    assert.ok(r.body.startsWith('api-app'), r.body);
    // Counted on the sidecar, by type.
    const prom = await send(web.ports.metrics, { path: '/stats/prometheus' });
    const count = /ferry_proxy_xds_nacks_total\{type="CDS"\} (\d+)/.exec(prom.body);
    assert.ok(count && Number(count[1]) >= 1, prom.body);
    // A good configuration after it is ACKed and applied: the NACK is over.
    await pushMesh(cp, meshWith(app, [], 'other'), [web]);
    await waitForHosts(web, clusterName('other', 8080), 1);
  });

  it('a per-route filter that does not compile is a NACK of its route configuration, not a failure of the requests taking it', async () => {
    const broken = route('broken', '/broken', {
      fault: { abort: { httpStatus: 600, percentage: 100 }, headers: [] },
    });
    cp.registry.setMeshConfig(meshWith(app, [broken]));
    const message = await nackOf('RDS');
    assert.match(message, /route "broken"/);
    assert.match(message, /http_status: must be from 200 to 599, not 600/);
    // The last good routes stay: /broken is not a route of its own, the app answers it.
    const r = await send(web.ports.outbound, { host: 'api:8080', path: '/broken' });
    assert.equal(r.status, 200);
    assert.ok(r.body.startsWith('api-app'), r.body);
  });

  it('compiles only the resources that changed, and a route’s filters before its first request', async () => {
    // Once the start-up pushes are over (the sidecar's own registration changes its routes),
    // so that nothing but requests happens while the counts are compared.
    await waitForQuiet(cp);
    const counts = web.compiler.counts;
    // The route filters of the first configuration were compiled with it.
    assert.ok(counts.routeFilters >= 2, `route filters compiled: ${counts.routeFilters}`);
    const filtersBefore = counts.routeFilters;
    const routesBefore = counts.routes;
    const abort = await send(web.ports.outbound, { host: 'api:8080', path: '/abort/x' });
    assert.equal(abort.status, 503);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await send(web.ports.outbound, { host: 'api:8080', path: '/few' })).status);
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    // The first requests on both routes compiled nothing.
    assert.equal(counts.routeFilters, filtersBefore);
    assert.equal(counts.routes, routesBefore);

    // One more service: of every cluster and assignment the SotW responses carry again,
    // only the ones whose bytes changed are compiled.
    const before = web.config!.source;
    const clustersBefore = counts.clusters;
    const endpointsBefore = counts.endpoints;
    await pushMesh(cp, meshWith(app, [], 'other'), [web]);
    await waitForHosts(web, clusterName('other', 8080), 1);
    await waitForQuiet(cp);
    const after = web.config!.source;
    const changed = (kind: 'clusters' | 'endpoints') =>
      [...after[kind]].filter(([name, entry]) => before[kind].get(name) !== entry).length;
    console.log(
      `      one more service: ${counts.clusters - clustersBefore} of ${after.clusters.size} clusters, ` +
        `${counts.endpoints - endpointsBefore} of ${after.endpoints.size} assignments compiled`,
    );
    assert.ok(after.clusters.size > changed('clusters'), 'some clusters are unchanged');
    assert.equal(counts.clusters - clustersBefore, changed('clusters'));
    assert.equal(counts.endpoints - endpointsBefore, changed('endpoints'));
    // The rate limit's route configuration changed (a new virtual host), its limit did not:
    // the bucket is the same, still empty.
    const limited = await send(web.ports.outbound, { host: 'api:8080', path: '/few' });
    assert.equal(limited.status, 429);
    // The admin's config dump shows the resources, not what they were compiled into.
    const dump = await send(web.ports.admin, { path: '/config_dump' });
    const resources = (JSON.parse(dump.body) as { resources: Record<string, object[]> }).resources;
    for (const entry of [...resources.routes!, ...resources.clusters!])
      assert.deepEqual(Object.keys(entry).sort(), ['name', 'value', 'version']);
  });
});
