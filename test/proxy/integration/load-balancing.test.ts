/**
 * Load balancing through a client sidecar, over real sockets: the app sends to the
 * sidecar's outbound port with `Host: <service>:8080`, and every endpoint is a real HTTP
 * server that answers with its own name. What each endpoint received is compared with what
 * the service's LB policy, endpoint weights and route weights say it should receive.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Service } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { inParallel, send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, endpoint, mesh, service } from '../../support/mesh.js';
import {
  startControlPlane,
  startSidecar,
  waitForHosts,
  waitForQuiet,
} from '../../support/mesh-harness.js';

describe('integration: load balancing through a client sidecar', function () {
  this.timeout(30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  const upstreams = new Map<string, HttpUpstream>();
  let cp: ControlPlane;
  let client: Sidecar;

  /** `total` requests to `host` with 20 in flight; the name of the endpoint that answered each. */
  async function spread(
    host: string,
    total: number,
    headers?: (i: number) => Record<string, string>,
  ): Promise<string[]> {
    const replies = await inParallel(total, 20, (i) =>
      send(client.ports.outbound, { host, agent, headers: headers?.(i) }),
    );
    for (const r of replies) assert.equal(r.status, 200, `${r.status} ${r.flags} ${r.body}`);
    return replies.map((r) => r.body);
  }

  const port = (name: string) => upstreams.get(name)!.port;

  before(async () => {
    const names = [
      'rr-a',
      'rr-b',
      'rr-c',
      'w-heavy',
      'w-light',
      'v1-a',
      'v1-b',
      'v2',
      'h-a',
      'h-b',
      'h-c',
    ];
    for (const u of await Promise.all(names.map((n) => startHttpUpstream(n))))
      upstreams.set(u.name, u);
    const rr = service('rr', 8080, 'http', [port('rr-a'), port('rr-b'), port('rr-c')]);
    const weighted: Service = {
      ...service('weighted', 8080, 'http', []),
      endpoints: [
        endpoint('127.0.0.1', port('w-heavy'), 8080, { weight: 3 }),
        endpoint('127.0.0.1', port('w-light'), 8080, { weight: 1 }),
      ],
    };
    const split: Service = {
      ...service('api', 8080, 'http', []),
      endpoints: [
        endpoint('127.0.0.1', port('v1-a'), 8080, { labels: { version: 'v1' } }),
        endpoint('127.0.0.1', port('v1-b'), 8080, { labels: { version: 'v1' } }),
        endpoint('127.0.0.1', port('v2'), 8080, { labels: { version: 'v2' } }),
      ],
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
      routes: [
        {
          name: 'canary',
          match: [],
          backends: [
            { service: 'api', namespace: 'default', subset: 'v1', weight: 90 },
            { service: 'api', namespace: 'default', subset: 'v2', weight: 10 },
          ],
        },
      ],
    };
    const sticky = service('sticky', 8080, 'http', [port('h-a'), port('h-b'), port('h-c')], {
      policy: { loadBalancer: 'ring_hash', hashOn: { header: 'x-user' }, connectTimeoutMs: 1000 },
    });
    cp = await startControlPlane(mesh(rr, weighted, split, sticky));
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, clusterName('rr', 8080), 3);
    await waitForHosts(client, clusterName('weighted', 8080), 2);
    await waitForHosts(client, 'outbound|8080|v1|api.default.svc.cluster.local', 2);
    await waitForHosts(client, 'outbound|8080|v2|api.default.svc.cluster.local', 1);
    await waitForHosts(client, clusterName('sticky', 8080), 3);
    // Any configuration update rebuilds the balancers (round robin restarts at a random
    // place), so measure only once the startup pushes are over.
    await waitForQuiet(cp);
  });

  after(async () => {
    agent.destroy();
    await client?.stop(100);
    await cp?.close();
    await Promise.all([...upstreams.values()].map((u) => u.close()));
  });

  it('round robin over 3 equal endpoints: 300 requests give each 100 (within one pick)', async () => {
    const got = tally(await spread('rr:8080', 300));
    console.log(`      300 requests over 3 endpoints: ${JSON.stringify(got)}`);
    assert.deepEqual(Object.keys(got), ['rr-a', 'rr-b', 'rr-c']);
    // Round robin walks the list in turn, so 300 picks give exactly 100 each; one pick of
    // slack all the same. A random balancer would miss by ~8 (one standard deviation) here.
    for (const [name, n] of Object.entries(got)) assert.ok(Math.abs(n - 100) <= 1, `${name}: ${n}`);
    // Each endpoint saw exactly the requests the client sent (nothing retried, nothing lost).
    const seen = ['rr-a', 'rr-b', 'rr-c'].map((n) => upstreams.get(n)!.seen.length);
    assert.deepEqual(seen, [got['rr-a'], got['rr-b'], got['rr-c']]);
  });

  it('endpoint weights 3:1: 400 requests split 300/100 (within one pick)', async () => {
    const got = tally(await spread('weighted:8080', 400));
    console.log(`      400 requests, weights 3:1: ${JSON.stringify(got)}`);
    // Weighted round robin (EDF) is periodic: every 4 picks hold 3 heavy and 1 light.
    assert.ok(Math.abs((got['w-heavy'] ?? 0) - 300) <= 1, `heavy: ${got['w-heavy']}`);
    assert.equal((got['w-heavy'] ?? 0) + (got['w-light'] ?? 0), 400);
  });

  it('a 90/10 route split between subsets v1 and v2: within 3 points over 2000 requests', async () => {
    const got = tally(await spread('api:8080', 2000));
    const v1 = (got['v1-a'] ?? 0) + (got['v1-b'] ?? 0);
    const v2 = got.v2 ?? 0;
    const share = (100 * v2) / 2000;
    console.log(
      `      2000 requests: v1 ${v1} (v1-a ${got['v1-a']}, v1-b ${got['v1-b']}), v2 ${v2} = ${share.toFixed(1)}% (route weight 10%)`,
    );
    assert.equal(v1 + v2, 2000);
    // The split is drawn at random per request: v2's count has a standard deviation of
    // sqrt(2000 * 0.1 * 0.9) = 13.4 requests (0.7 points), so 3 points is 4.5 deviations.
    assert.ok(Math.abs(share - 10) <= 3, `v2 share ${share}%`);
    // Inside subset v1 its own round robin alternates between its two endpoints.
    assert.ok(Math.abs((got['v1-a'] ?? 0) - (got['v1-b'] ?? 0)) <= 2, JSON.stringify(got));
  });

  it('ring hash on a header: every request with one key lands on one endpoint', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    const bodies = await spread('sticky:8080', 300, (i) => ({ 'x-user': keys[i % keys.length] }));
    const byKey = new Map<string, Set<string>>();
    bodies.forEach((b, i) => {
      const key = keys[i % keys.length];
      const set = byKey.get(key) ?? new Set<string>();
      set.add(b);
      byKey.set(key, set);
    });
    const perKey = [...byKey.values()].map((s) => s.size);
    const used = tally([...byKey.values()].map((s) => [...s][0]));
    console.log(`      30 keys x 10 requests; keys per endpoint: ${JSON.stringify(used)}`);
    assert.deepEqual(perKey, Array(30).fill(1), 'each key stays on one endpoint');
    // Thirty keys over three endpoints of a ring: all three are used.
    assert.equal(Object.keys(used).length, 3);
  });
});
