/**
 * Configuration pushed while traffic flows: 20 clients send back to back through one client
 * sidecar for a few seconds, and midway the control plane's mesh config is changed with
 * `registry.setMeshConfig`. Every request is recorded with its start and end time; the
 * moment the push began (tPush) and the moment the sidecar's runtime was seen routing as the
 * new config says (tApplied: its route table and clusters, polled every 5 ms; a push can
 * arrive as more than one xDS response) split them into before / during / after.
 *
 * Asserted: no request failed (no error status, no connection error); every request that
 * ended before tPush went where the old config said; every request that started after
 * tApplied went where the new one says. Upstreams take 5 ms per request, so requests are
 * always in flight when the change lands.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { MeshConfig, Service } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, endpoint, mesh, service } from '../../support/mesh.js';
import {
  hostsOf,
  startControlPlane,
  startSidecar,
  waitForHosts,
} from '../../support/mesh-harness.js';
import { sleep, waitFor } from '../../support/wait-for.js';

interface Outcome {
  start: number;
  end: number;
  /** The upstream's name, or `<status> <flags>` / `error <code>` for a failure. */
  result: string;
  ok: boolean;
}

const WORKERS = 20;

/** A weighted split of `api` between subsets v1 and v2. */
function split(v1Port: number, v2Port: number, w1: number, w2: number): Service {
  return {
    ...service('api', 8080, 'http', []),
    endpoints: [
      endpoint('127.0.0.1', v1Port, 8080, { labels: { version: 'v1' } }),
      endpoint('127.0.0.1', v2Port, 8080, { labels: { version: 'v2' } }),
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
  };
}

describe('integration: configuration changes under steady load', function () {
  this.timeout(30_000);
  const upstreams = new Map<string, HttpUpstream>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS });
  let cp: ControlPlane | undefined;
  let client: Sidecar | undefined;

  const port = (name: string) => upstreams.get(name)!.port;

  before(async () => {
    for (const name of ['v1', 'v2', 'next', 'old-host', 'new-host']) {
      upstreams.set(
        name,
        await startHttpUpstream(name, (_seen, _req, res) => {
          setTimeout(() => res.end(name), 5);
          return true;
        }),
      );
    }
  });

  afterEach(async () => {
    await client?.stop(100);
    await cp?.close();
    client = undefined;
    cp = undefined;
  });

  after(async () => {
    agent.destroy();
    await Promise.all([...upstreams.values()].map((u) => u.close()));
  });

  /**
   * Runs WORKERS clients against `host` for `ms`, pushes `next` at half time, and returns
   * every outcome with tPush and tApplied.
   */
  async function underLoad(
    host: string,
    ms: number,
    next: MeshConfig,
    applied: () => boolean,
  ): Promise<{ outcomes: Outcome[]; tPush: number; tApplied: number }> {
    const sidecar = client!;
    const outcomes: Outcome[] = [];
    const t0 = performance.now();
    const worker = async () => {
      while (performance.now() - t0 < ms) {
        const start = performance.now();
        try {
          const r = await send(sidecar.ports.outbound, { host, agent });
          const ok = r.status === 200;
          outcomes.push({
            start,
            end: performance.now(),
            ok,
            result: ok ? r.body : `${r.status} ${r.flags}`,
          });
        } catch (err) {
          outcomes.push({
            start,
            end: performance.now(),
            ok: false,
            result: `error ${(err as NodeJS.ErrnoException).code}`,
          });
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, worker);
    await sleep(ms / 2);
    assert.equal(applied(), false, 'the new routing is not in force before the push');
    const tPush = performance.now();
    cp!.registry.setMeshConfig(next);
    await waitFor('the new configuration to be in force', applied, 5000, 5);
    const tApplied = performance.now();
    await Promise.all(workers);
    return { outcomes, tPush, tApplied };
  }

  /**
   * The clusters the client sidecar's outbound route table sends `authority` to, over the
   * whole range of the per-request random draw, each with its endpoint addresses.
   */
  function routing(authority: string): string[] {
    const view = client?.config?.outbound;
    const route = view?.table?.match({ authority, path: '/', method: 'GET', headers: {} });
    if (route?.kind !== 'forward') return [];
    const picked = new Set<string>();
    for (const r of [0, 0.25, 0.5, 0.75, 0.999]) {
      const name = route.pickCluster(r, { authority, path: '/', method: 'GET', headers: {} });
      if (name !== undefined) picked.add(name);
    }
    return [...picked].sort().map((name) => `${name}=${hostsOf(client!, name).join('+')}`);
  }

  function report(
    what: string,
    { outcomes, tPush, tApplied }: { outcomes: Outcome[]; tPush: number; tApplied: number },
  ) {
    const before = outcomes.filter((o) => o.end < tPush);
    const after = outcomes.filter((o) => o.start > tApplied);
    const failed = outcomes.filter((o) => !o.ok);
    const across = outcomes.filter((o) => o.start <= tApplied && o.end >= tPush);
    console.log(
      `      ${what}: ${outcomes.length} requests, ${failed.length} failed; applied ${(tApplied - tPush).toFixed(0)} ms after the push; ${across.length} in flight across the change ${JSON.stringify(tally(across.map((o) => o.result)))}`,
    );
    console.log(
      `      before: ${JSON.stringify(tally(before.map((o) => o.result)))}, after: ${JSON.stringify(tally(after.map((o) => o.result)))}`,
    );
    return { before, after, failed };
  }

  it('a weight change 100/0 -> 0/100 midway through 3 s of load: zero failures, traffic moves to v2', async () => {
    cp = await startControlPlane(mesh(split(port('v1'), port('v2'), 100, 0)));
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, 'outbound|8080|v2|api.default.svc.cluster.local', 1);
    const v2 = `outbound|8080|v2|api.default.svc.cluster.local=127.0.0.1:${port('v2')}`;
    const run = await underLoad(
      'api:8080',
      3000,
      mesh(split(port('v1'), port('v2'), 0, 100)),
      () => routing('api:8080').join() === v2,
    );
    const { before, after, failed } = report('weights 100/0 -> 0/100', run);
    assert.deepEqual(failed, []);
    assert.ok(before.length > 100 && after.length > 100, 'load on both sides of the change');
    assert.deepEqual(tally(before.map((o) => o.result)), { v1: before.length });
    assert.deepEqual(tally(after.map((o) => o.result)), { v2: after.length });
  });

  it('a route switched to a service new in the same push (new cluster): zero failures, no NC/UH', async () => {
    const nextService = service('api-next', 8080, 'http', [port('next')]);
    const routed: Service = {
      ...service('api', 8080, 'http', [port('v1')]),
      routes: [
        {
          name: 'to-next',
          match: [],
          backends: [{ service: 'api-next', namespace: 'default', weight: 1 }],
        },
      ],
    };
    cp = await startControlPlane(mesh(service('api', 8080, 'http', [port('v1')])));
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, clusterName('api', 8080), 1);
    const target = `${clusterName('api-next', 8080)}=127.0.0.1:${port('next')}`;
    const run = await underLoad(
      'api:8080',
      2000,
      mesh(routed, nextService),
      () => routing('api:8080').join() === target,
    );
    const { before, after, failed } = report('route api -> new service api-next', run);
    assert.deepEqual(failed, [], 'the route took effect only with its cluster warm');
    assert.deepEqual(tally(before.map((o) => o.result)), { v1: before.length });
    assert.deepEqual(tally(after.map((o) => o.result)), { next: after.length });
  });

  it("the endpoint in use replaced by another: zero failures, the old one's in-flight requests complete", async () => {
    cp = await startControlPlane(mesh(service('api', 8080, 'http', [port('old-host')])));
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, clusterName('api', 8080), 1);
    const old = upstreams.get('old-host')!;
    const abortedBefore = old.aborted;
    const target = `${clusterName('api', 8080)}=127.0.0.1:${port('new-host')}`;
    const run = await underLoad(
      'api:8080',
      2000,
      mesh(service('api', 8080, 'http', [port('new-host')])),
      () => routing('api:8080').join() === target,
    );
    const { before, after, failed } = report('endpoint old-host -> new-host', run);
    assert.deepEqual(failed, []);
    assert.equal(old.aborted - abortedBefore, 0, 'no request to the removed endpoint was cut');
    assert.deepEqual(tally(before.map((o) => o.result)), { 'old-host': before.length });
    assert.deepEqual(tally(after.map((o) => o.result)), { 'new-host': after.length });
  });
});
