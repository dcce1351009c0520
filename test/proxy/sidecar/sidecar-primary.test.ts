/**
 * `ferry proxy --concurrency 2` as a real process against a real control plane: two worker
 * processes share the outbound and inbound sockets, one xDS stream in the primary feeds
 * them both, connections are served by both (each worker's own stats on /stats/workers),
 * the primary's /stats/prometheus is both workers' metrics summed, and SIGTERM drains both
 * (a request in flight finishes, then the process exits 0).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { mesh, service } from '../../support/mesh.js';
import { startControlPlane } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');

interface ProxyProcess {
  readonly ports: { outbound: number; inbound: number; admin: number; metrics: number };
  readonly exited: Promise<number | null>;
  readonly output: () => string;
  kill(): void;
}

/** `ferry proxy` once it printed its ports (SIGKILLed after 10 min if a test hangs). */
async function startProxy(
  xdsPort: number,
  appPort: number,
  extra: string[],
): Promise<ProxyProcess> {
  const args = [
    'proxy',
    '--xds',
    `127.0.0.1:${xdsPort}`,
    '--service',
    'api',
    '--id',
    'api-1.default',
    '--app-port',
    String(appPort),
    ...['--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0'],
    ...['--metrics-port', '0', '--ready-port', '0', '--drain', '3000', '--log-level', 'warn'],
    ...extra,
  ];
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  killer.unref();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const found = /outbound (\d+), inbound (\d+), admin (\d+), metrics (\d+)/.exec(stdout);
      if (found) resolve(found);
    });
    void exited.then((code) => reject(new Error(`ferry proxy exited (${code}): ${stderr}`)));
  });
  return {
    ports: {
      outbound: Number(m[1]),
      inbound: Number(m[2]),
      admin: Number(m[3]),
      metrics: Number(m[4]),
    },
    exited,
    output: () => stdout + stderr,
    kill: () => child.kill('SIGTERM'),
  };
}

interface WorkerView {
  id: number;
  pid: number;
  applied: number;
  stats: Record<string, number>;
}

async function workers(p: ProxyProcess): Promise<WorkerView[]> {
  const res = await fetch(`http://127.0.0.1:${p.ports.admin}/stats/workers`);
  return (await res.json()) as WorkerView[];
}

/** istio_requests_total with response code 200 of one reporter, summed over its series. */
async function served(p: ProxyProcess, reporter: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${p.ports.metrics}/stats/prometheus`);
  let n = 0;
  for (const line of (await res.text()).split('\n'))
    if (
      line.startsWith('istio_requests_total{') &&
      line.includes('response_code="200"') &&
      line.includes(`reporter="${reporter}"`)
    )
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

describe('ferry proxy --concurrency 2', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let app: HttpUpstream;
  let proxy: ProxyProcess;

  before(async () => {
    // /slow answers later: a request in flight during the drain.
    app = await startHttpUpstream('app', (s, _req, res) => {
      if (s.url !== '/slow') return false;
      setTimeout(() => res.end('slow done'), 800);
      return true;
    });
    cp = await startControlPlane(mesh(service('api', 8080, 'http', [])));
    proxy = await startProxy(cp.xdsPort, app.port, ['--concurrency', '2']);
    await waitFor(
      'the proxy ready (every worker runs the first configuration)',
      async () =>
        (
          await fetch(`http://127.0.0.1:${proxy.ports.metrics}/healthz/ready`).catch(
            () => undefined,
          )
        )?.status === 200,
      30_000,
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the proxy said:\n${proxy.output()}`);
    });
    // The control plane lists the sidecar (with the workers' inbound port) as api's endpoint.
    await waitFor(
      'api reachable through the outbound port',
      async () =>
        (
          await send(proxy.ports.outbound, { host: 'api:8080', path: '/probe' }).catch(
            () => undefined,
          )
        )?.status === 200,
      30_000,
      50,
    );
  });

  after(async () => {
    proxy?.kill();
    await cp?.close();
    await app?.close();
  });

  it('runs two workers on one xDS connection, both running the configuration', async () => {
    const w = await workers(proxy);
    assert.equal(w.length, 2);
    assert.notEqual(w[0].pid, w[1].pid);
    for (const x of w) assert.ok(x.applied >= 1, `worker ${x.id} applied ${x.applied}`);
    // One node on the control plane: only the primary speaks xDS.
    const dump = (await (
      await fetch(`http://127.0.0.1:${proxy.ports.admin}/config_dump`)
    ).json()) as {
      xds: { connected: boolean };
      bootstrap: { ports: { inbound: number; outbound: number } };
    };
    assert.equal(dump.xds.connected, true);
    assert.deepEqual(
      [dump.bootstrap.ports.outbound, dump.bootstrap.ports.inbound],
      [proxy.ports.outbound, proxy.ports.inbound],
    );
  });

  it('serves connections on both workers and sums their metrics', async () => {
    const before = await served(proxy, 'source');
    for (let i = 0; i < 20; i++) {
      // A new connection each: the primary hands connections to the workers in turn.
      const r = await send(proxy.ports.outbound, {
        host: 'api:8080',
        path: `/count/${i}`,
        headers: { connection: 'close' },
      });
      assert.equal(r.status, 200);
      assert.equal(r.body, 'app');
    }
    await waitFor(
      'the 20 requests in the summed metrics',
      async () => (await served(proxy, 'source')) === before + 20,
      10_000,
      50,
    );
    const w = await workers(proxy);
    for (const x of w) assert.ok(x.stats.requests > 0, `worker ${x.pid} served nothing`);
    // Each request crossed the outbound and then the inbound socket.
    const total = w.reduce((n, x) => n + x.stats.requests, 0);
    assert.ok(total >= 40, `${total} requests across the workers`);
  });

  it('reports the primary’s own xDS stream as connected in the summed metrics (the workers have none)', async () => {
    const res = await fetch(`http://127.0.0.1:${proxy.ports.metrics}/stats/prometheus`);
    const text = await res.text();
    assert.match(text, /^ferry_proxy_xds_connected 1$/m);
  });

  it('SIGTERM drains both workers: a request in flight finishes, then the process exits 0', async () => {
    const slow = send(proxy.ports.outbound, { host: 'api:8080', path: '/slow' });
    await waitFor('the slow request at the app', () => app.inFlight > 0, 10_000);
    proxy.kill();
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slow done');
    assert.equal(await proxy.exited, 0, proxy.output());
    await assert.rejects(send(proxy.ports.outbound, { host: 'api:8080', path: '/after' }));
  });
});
