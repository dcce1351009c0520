/**
 * The sidecar's HTTP data path over real sockets: a control plane, a client sidecar and
 * real upstream servers. Figures are printed under each test.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import type { MeshConfig, RetryPolicy, Service } from '../../src/mesh/index.js';
import { Sidecar } from '../../src/proxy/index.js';
import { endpoint, mesh, service } from '../support/mesh.js';

interface Upstream {
  readonly port: number;
  hits: number;
  attempts: string[];
  close(): void;
}

async function upstream(
  name: string,
  behave: (n: number, res: http.ServerResponse) => boolean = () => false,
): Promise<Upstream> {
  const u: Upstream = { port: 0, hits: 0, attempts: [], close: () => server.close() };
  const server = http.createServer((req, res) => {
    u.hits++;
    u.attempts.push(String(req.headers['x-envoy-attempt-count']));
    req.resume();
    if (behave(u.hits, res)) return;
    res.end(name);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  Object.assign(u, { port: (server.address() as AddressInfo).port });
  return u;
}

interface Reply {
  status: number;
  body: string;
  flags?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function request(
  port: number,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ port, path, agent, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          flags: res.headers['x-ferry-response-flags'] as string | undefined,
        }),
      );
    });
    req.on('error', reject);
  });
}

function retries(attempts: number, on: string[], perTryTimeoutMs?: number): RetryPolicy {
  return {
    attempts,
    on,
    retriableStatusCodes: [],
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    perTryTimeoutMs,
  };
}

/** Service `api` with subsets v1 and v2 (one upstream each) and a weighted split between them. */
function splitMesh(v1: Upstream, v2: Upstream, w1: number, w2: number): MeshConfig {
  return mesh({
    ...service('api', 8080, 'http', []),
    endpoints: [
      endpoint('127.0.0.1', v1.port, 8080, { labels: { version: 'v1' } }),
      endpoint('127.0.0.1', v2.port, 8080, { labels: { version: 'v2' } }),
    ],
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ],
    routes: [
      {
        name: 'split',
        match: [],
        backends: [
          { service: 'api', namespace: 'default', subset: 'v1', weight: w1 },
          { service: 'api', namespace: 'default', subset: 'v2', weight: w2 },
        ],
      },
    ],
  });
}

function count(replies: Reply[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of replies) m.set(r.body, (m.get(r.body) ?? 0) + 1);
  return m;
}

describe('sidecar data path (HTTP)', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let sidecar: Sidecar;
  const ups: Upstream[] = [];

  async function start(config: MeshConfig): Promise<void> {
    cp = await ControlPlane.start({
      config,
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      log: silentLogger(),
    });
    sidecar = await Sidecar.start({
      xds: `127.0.0.1:${cp.xdsPort}`,
      service: 'client',
      inboundPort: 0,
      outboundPort: 0,
      adminPort: 0,
      metricsPort: 0,
      readyPort: 0,
      log: silentLogger(),
    });
    await sidecar.waitReady(5000);
  }

  async function push(config: MeshConfig): Promise<void> {
    const before = sidecar.config?.version ?? 0;
    cp.registry.setMeshConfig(config);
    for (let i = 0; i < 200 && (sidecar.config?.version ?? 0) === before; i++)
      await new Promise((r) => setTimeout(r, 10));
  }

  afterEach(async () => {
    await sidecar?.stop(200);
    await cp?.close();
    for (const u of ups.splice(0)) u.close();
  });

  after(() => agent.destroy());

  it('balances round robin evenly and honours endpoint weights', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => upstream(n)));
    ups.push(a, b, c);
    const weighted: Service = {
      ...service('w', 8080, 'http', []),
      endpoints: [
        endpoint('127.0.0.1', a.port, 8080, { weight: 3 }),
        endpoint('127.0.0.1', b.port, 8080, { weight: 1 }),
      ],
    };
    await start(mesh(service('rr', 8080, 'http', [a.port, b.port, c.port]), weighted));
    const rr = count(
      await Promise.all(
        Array.from({ length: 300 }, () => request(sidecar.ports.outbound, 'rr:8080')),
      ),
    );
    console.log(`      round robin over 3: ${JSON.stringify(Object.fromEntries(rr))}`);
    // Round robin: an even share each, within a pick or two (a random balancer would be off
    // by ten or more at this size).
    for (const n of ['a', 'b', 'c'])
      assert.ok(Math.abs((rr.get(n) ?? 0) - 100) <= 2, `${n} got ${rr.get(n)}`);
    const w = count(
      await Promise.all(
        Array.from({ length: 400 }, () => request(sidecar.ports.outbound, 'w:8080')),
      ),
    );
    console.log(`      weights 3:1: ${JSON.stringify(Object.fromEntries(w))}`);
    // Weighted round robin starts at a random point of its cycle: exact within one pick.
    assert.ok(Math.abs((w.get('a') ?? 0) - 300) <= 1, `a got ${w.get('a')}`);
    assert.equal((w.get('a') ?? 0) + (w.get('b') ?? 0), 400);
  });

  it('splits 90/10 between subsets within a few percent', async () => {
    const [v1, v2] = await Promise.all([upstream('v1'), upstream('v2')]);
    ups.push(v1, v2);
    await start(splitMesh(v1, v2, 90, 10));
    const replies: Reply[] = [];
    for (let i = 0; i < 10; i++) {
      replies.push(
        ...(await Promise.all(
          Array.from({ length: 200 }, () => request(sidecar.ports.outbound, 'api:8080')),
        )),
      );
    }
    const got = count(replies);
    const share = (got.get('v2') ?? 0) / replies.length;
    console.log(
      `      2000 requests: v1 ${got.get('v1')}, v2 ${got.get('v2')} (${(share * 100).toFixed(1)}% to v2)`,
    );
    assert.equal((got.get('v1') ?? 0) + (got.get('v2') ?? 0), 2000);
    assert.ok(share > 0.07 && share < 0.13, `v2 share ${share}`);
  });

  it("retries a flaky upstream's 503s into successes, with the attempt count header", async () => {
    const flaky = await upstream('ok', (n, res) => {
      if (n % 2 === 1) {
        res.statusCode = 503;
        res.end('flaky');
        return true;
      }
      return false;
    });
    ups.push(flaky);
    await start(
      mesh(
        service('flaky', 8080, 'http', [flaky.port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            retries: retries(2, ['5xx']),
          },
        }),
      ),
    );
    const replies: Reply[] = [];
    for (let i = 0; i < 50; i++) replies.push(await request(sidecar.ports.outbound, 'flaky:8080'));
    console.log(
      `      50 requests, ${flaky.hits} upstream attempts, ${replies.filter((r) => r.status === 200).length} succeeded`,
    );
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    assert.equal(flaky.hits, 100);
    assert.equal(flaky.attempts.filter((a) => a === '2').length, 50);
  });

  it('prefers another host on retry', async () => {
    const bad = await upstream('bad', (_n, res) => {
      res.statusCode = 503;
      res.end('bad');
      return true;
    });
    const good = await upstream('good');
    ups.push(bad, good);
    await start(
      mesh(
        service('pair', 8080, 'http', [bad.port, good.port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            retries: retries(1, ['5xx']),
          },
        }),
      ),
    );
    const replies: Reply[] = [];
    for (let i = 0; i < 40; i++) replies.push(await request(sidecar.ports.outbound, 'pair:8080'));
    console.log(`      40 requests: bad saw ${bad.hits}, good saw ${good.hits}`);
    assert.ok(replies.every((r) => r.status === 200 && r.body === 'good'));
  });

  it('answers 504 UT at the route timeout for a slow upstream', async () => {
    const slow = await upstream('slow', (_n, res) => {
      setTimeout(() => res.end('late'), 2000);
      return true;
    });
    ups.push(slow);
    await start(
      mesh(
        service('slow', 8080, 'http', [slow.port], {
          policy: { loadBalancer: 'round_robin', connectTimeoutMs: 1000, timeoutMs: 200 },
        }),
      ),
    );
    const t0 = performance.now();
    const r = await request(sidecar.ports.outbound, 'slow:8080');
    console.log(
      `      answered ${r.status} ${r.flags} after ${Math.round(performance.now() - t0)} ms (route timeout 200 ms)`,
    );
    assert.equal(r.status, 504);
    assert.equal(r.flags, 'UT');
  });

  it('does not retry a dead endpoint forever: 503 UF after 1 + attempts tries', async () => {
    const gone = await upstream('gone');
    gone.close();
    await start(
      mesh(
        service('dead', 8080, 'http', [gone.port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 500,
            retries: retries(2, ['connect-failure']),
          },
        }),
      ),
    );
    const statsBefore = sidecar.stats.retries;
    const r = await request(sidecar.ports.outbound, 'dead:8080');
    const retried = sidecar.stats.retries - statsBefore;
    console.log(`      answered ${r.status} ${r.flags} after ${retried} retries`);
    assert.equal(r.status, 503);
    assert.match(r.flags ?? '', /UF/);
    assert.match(r.flags ?? '', /URX/);
    assert.equal(retried, 2);
  });

  it('serves HTTP_PROXY-style absolute-form requests', async () => {
    const u = await upstream('proxied');
    ups.push(u);
    await start(mesh(service('api', 8080, 'http', [u.port])));
    const r = await request(sidecar.ports.outbound, 'ignored', 'http://api:8080/x');
    assert.equal(r.body, 'proxied');
  });

  it('applies a weight change under steady load with zero failed requests', async () => {
    const [v1, v2] = await Promise.all([upstream('v1'), upstream('v2')]);
    ups.push(v1, v2);
    await start(splitMesh(v1, v2, 100, 0));
    let stop = false;
    const replies: Reply[] = [];
    const errors: unknown[] = [];
    const worker = async () => {
      while (!stop) {
        try {
          replies.push(await request(sidecar.ports.outbound, 'api:8080'));
        } catch (err) {
          errors.push(err);
        }
      }
    };
    const workers = Array.from({ length: 20 }, worker);
    await new Promise((r) => setTimeout(r, 500));
    const switchedAt = replies.length;
    await push(splitMesh(v1, v2, 0, 100));
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(workers);
    const failed = replies.filter((r) => r.status !== 200).length + errors.length;
    const tail = replies.slice(-200);
    console.log(
      `      ${replies.length} requests during the change, ${failed} failed; last 200 went to ${JSON.stringify(Object.fromEntries(count(tail)))}`,
    );
    assert.equal(failed, 0);
    assert.ok(replies.slice(0, switchedAt).every((r) => r.body === 'v1'));
    assert.ok(tail.every((r) => r.body === 'v2'));
  });

  it('keeps serving on its last configuration when the control plane stops', async () => {
    const u = await upstream('still-here');
    ups.push(u);
    await start(mesh(service('api', 8080, 'http', [u.port])));
    await cp.close();
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => request(sidecar.ports.outbound, 'api:8080')),
    );
    assert.ok(replies.every((r) => r.status === 200 && r.body === 'still-here'));
    const stats = JSON.parse(
      (await request(sidecar.ports.admin, 'x', '/stats?format=json')).body,
    ) as { xds_connected: number };
    console.log(
      `      50/50 requests served with the control plane down; xds_connected=${stats.xds_connected}`,
    );
    assert.equal(stats.xds_connected, 0);
  });
});
