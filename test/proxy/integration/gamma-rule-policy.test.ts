/**
 * GAMMA over real sockets: an HTTPRoute on the Service `api` with timeouts, retry and
 * sessionPersistence applies them to the traffic a client sidecar sends to `api`, as on a
 * Gateway parent: the session cookie keeps a client on one of three endpoints, a 503 twice is
 * retried away with attempts 2, and a backend slower than timeouts.request gets 504.
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { parseMesh } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { type Reply, send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName } from '../../support/mesh.js';
import {
  startControlPlane,
  startSidecar,
  waitForHosts,
  waitForQuiet,
} from '../../support/mesh-harness.js';

function meshText(api: readonly number[]): string {
  return `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
    endpoints: [${api.map((p) => `{ address: 127.0.0.1, port: ${p} }`).join(', ')}]
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: api-policies }
    spec:
      parentRefs: [{ group: "", kind: Service, name: api, port: 8080 }]
      rules:
        - matches: [{ path: { type: PathPrefix, value: /slow } }]
          backendRefs: [{ name: api, port: 8080 }]
          timeouts: { request: 300ms }
        - matches: [{ path: { type: PathPrefix, value: /flaky } }]
          backendRefs: [{ name: api, port: 8080 }]
          retry: { codes: [503], attempts: 2, backoff: 10ms }
        - backendRefs: [{ name: api, port: 8080 }]
          sessionPersistence: { sessionName: api-session }
`;
}

describe('integration: GAMMA route timeouts, retry and sessionPersistence', function () {
  this.timeout(30_000);
  let api: HttpUpstream[];
  let cp: ControlPlane;
  let client: Sidecar;
  let flaky = 0;

  const get = (path: string, headers: Record<string, string> = {}): Promise<Reply> =>
    send(client.ports.outbound, { host: 'api:8080', path, headers });

  before(async () => {
    api = await Promise.all(
      ['api-a', 'api-b', 'api-c'].map((name) =>
        startHttpUpstream(name, (s, _req, res) => {
          if (s.url === '/slow') {
            setTimeout(() => res.end('late'), 30_000).unref();
            return true;
          }
          // Whichever endpoint gets them: the first two /flaky requests are refused.
          if (s.url === '/flaky' && ++flaky <= 2) {
            res.statusCode = 503;
            res.end('not yet');
            return true;
          }
          return false;
        }),
      ),
    );
    const parsed = parseMesh(meshText(api.map((a) => a.port)), 'mesh.yaml');
    assert.ok(parsed.ok);
    cp = await startControlPlane(parsed.config);
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, clusterName('api', 8080), 3);
    await waitForQuiet(cp);
  });

  after(async () => {
    await client?.stop(100);
    await cp?.close();
    await Promise.all((api ?? []).map((a) => a.close()));
  });

  it('20 requests with the session cookie reach one endpoint of three; without it they spread', async () => {
    const first = await get('/');
    const m = /^api-session="([A-Za-z0-9+/=]+)"; Path=\/; HttpOnly$/.exec(
      String(first.headers['set-cookie'] ?? ''),
    );
    assert.ok(m, String(first.headers['set-cookie']));
    const replies: Reply[] = [];
    for (let i = 0; i < 20; i++) {
      replies.push(await get('/', { cookie: `api-session="${m[1]}"` }));
    }
    assert.deepEqual(tally(replies.map((r) => r.body)), { [first.body]: 20 });
    const loose: Reply[] = [];
    for (let i = 0; i < 30; i++) loose.push(await get('/'));
    const spread = tally(loose.map((r) => r.body));
    console.log(`      with the cookie: ${first.body} x20; without: ${JSON.stringify(spread)}`);
    assert.ok(Object.keys(spread).length >= 2, JSON.stringify(spread));
  });

  it('retry attempts 2: 503 twice, then 200', async () => {
    const r = await get('/flaky');
    assert.equal(r.status, 200, `${r.status} ${r.flags} ${r.body}`);
    const tries = api.flatMap((a) => a.seen.filter((s) => s.url === '/flaky'));
    assert.deepEqual(tries.map((s) => s.attempt).sort(), ['1', '2', '3']);
  });

  it('timeouts.request: a slower backend gets 504', async () => {
    const r = await get('/slow');
    assert.equal(r.status, 504, `${r.status} ${r.flags} ${r.body}`);
    assert.match(r.flags, /UT/);
  });
});
