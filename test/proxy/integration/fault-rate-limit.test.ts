/**
 * Fault injection and local rate limits from the mesh file, through a client sidecar and a
 * server sidecar: an abort answered at once with FI for requests carrying the header, a
 * delay, a gRPC-status abort, a route limit on the caller's side and a service limit on the
 * callee's side (429 RL).
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Route } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';

const route = (name: string, prefix: string, extra: Partial<Route>): Route => ({
  name,
  match: [{ path: { prefix }, headers: [], queryParams: [] }],
  backends: [],
  ...extra,
});

describe('integration: fault injection and local rate limits', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  let server: Sidecar;
  let app: HttpUpstream;
  let limitedApp: HttpUpstream;

  before(async () => {
    app = await startHttpUpstream('api-app');
    limitedApp = await startHttpUpstream('limited-app');
    cp = await startControlPlane(
      mesh(
        service('api', 8080, 'http', [app.port], {
          routes: [
            route('aborts', '/abort', {
              fault: {
                abort: { httpStatus: 503, percentage: 100 },
                headers: [{ name: 'x-fault', match: { exact: 'on' }, invert: false }],
              },
            }),
            route('delays', '/delay', {
              fault: { delay: { fixedDelayMs: 200, percentage: 100 }, headers: [] },
            }),
            route('limited-route', '/few', {
              rateLimit: { requestsPerUnit: 3, unit: 'minute', burst: 0 },
            }),
          ],
        }),
        service('limited', 8080, 'http', [], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            rateLimit: { requestsPerUnit: 5, unit: 'minute', burst: 0 },
          },
        }),
      ),
    );
    server = await startSidecar(cp.xdsPort, { service: 'limited', appPort: limitedApp.port });
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, clusterName('api', 8080), 1);
    await waitForHosts(client, clusterName('limited', 8080), 1);
  });

  after(async () => {
    await Promise.all([client?.stop(0), server?.stop(0)]);
    await cp?.close();
    await Promise.all([app?.close(), limitedApp?.close()]);
  });

  it('aborts with 503 FI only the requests carrying the header, without reaching the app', async () => {
    const before = app.seen.length;
    const on = await send(client.ports.outbound, {
      host: 'api:8080',
      path: '/abort/x',
      headers: { 'x-fault': 'on' },
    });
    const off = await send(client.ports.outbound, { host: 'api:8080', path: '/abort/x' });
    console.log(
      `      with x-fault: ${on.status} ${on.headers['x-ferry-response-flags']}; without: ${off.status}`,
    );
    assert.equal(on.status, 503);
    assert.equal(on.headers['x-ferry-response-flags'], 'FI');
    assert.equal(off.status, 200);
    assert.equal(app.seen.length - before, 1, 'only the request without the fault reached the app');
  });

  it('delays requests by the fixed delay, then serves them', async () => {
    const t0 = performance.now();
    const r = await send(client.ports.outbound, { host: 'api:8080', path: '/delay/x' });
    const ms = performance.now() - t0;
    console.log(`      /delay answered ${r.status} after ${ms.toFixed(0)} ms (fault delay 200 ms)`);
    assert.equal(r.status, 200);
    assert.ok(ms >= 195, `${ms} ms`);
  });

  it('a route limit on the caller: 3 per minute pass, the rest get 429 RL', async () => {
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await send(client.ports.outbound, { host: 'api:8080', path: '/few' });
      statuses.push(`${r.status} ${r.headers['x-ferry-response-flags'] ?? ''}`.trim());
    }
    console.log(`      /few x6: ${statuses.join(', ')}`);
    assert.deepEqual(statuses, ['200', '200', '200', '429 RL', '429 RL', '429 RL']);
  });

  it("a service limit on the callee's sidecar: 5 per minute accepted, the rest 429 RL", async () => {
    const statuses: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await send(client.ports.outbound, { host: 'limited:8080' });
      statuses.push(String(r.status));
    }
    console.log(`      limited x8: ${JSON.stringify(tally(statuses))}`);
    assert.deepEqual(tally(statuses), { '200': 5, '429': 3 });
    assert.equal(limitedApp.seen.length, 5);
  });
});
