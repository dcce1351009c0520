/**
 * `ferry tap`, `ferry top` and `ferry stat` against a real control plane and real sidecars:
 * web calls api through its sidecar, api's sidecar forwards to the app. Both sidecars
 * announce their admin and metrics ports; the commands find them through the control plane.
 */
import assert from 'node:assert/strict';
import { runStat } from '../../src/cli/stat.js';
import { runTap } from '../../src/cli/tap.js';
import { runTop } from '../../src/cli/top.js';
import type { ControlPlane } from '../../src/controlplane/index.js';
import type { Sidecar } from '../../src/proxy/index.js';
import { runCli } from '../support/cli-process.js';
import { send } from '../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../support/http-upstream.js';
import { clusterName, mesh, service } from '../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../support/mesh-harness.js';
import { sink } from '../support/output-sink.js';
import { waitFor } from '../support/wait-for.js';

describe('ferry tap, top and stat (live traffic)', () => {
  let cp: ControlPlane;
  let app: HttpUpstream;
  let api: Sidecar;
  let web: Sidecar;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    app = await startHttpUpstream('api-app', (_seen, req, res) => {
      if (req.url?.startsWith('/fail')) {
        res.writeHead(503).end('down');
        return true;
      }
      return false;
    });
    cp = await startControlPlane(mesh(service('api', 8080, 'http', [])));
    api = await startSidecar(cp.xdsPort, {
      service: 'api',
      id: 'api-1.default',
      appPort: app.port,
    });
    web = await startSidecar(cp.xdsPort, { service: 'web', id: 'web-1.default' });
    await waitForHosts(web, clusterName('api', 8080), 1);
    env = { FERRY_CONTROL_PLANE: `http://127.0.0.1:${cp.httpPort}` };
  });

  after(async () => {
    await web?.stop(0);
    await api?.stop(0);
    await cp?.close();
    await app?.close();
  });

  const call = (path: string, method = 'GET') =>
    send(web.ports.outbound, { host: 'api:8080', path, method });

  /** Runs a command until `stop` is aborted; resolves with its outputs once it has subscribed. */
  async function start(
    run: typeof runTap,
    argv: string[],
    ready = /tapping|counting/,
  ): Promise<{
    out: ReturnType<typeof sink>;
    err: ReturnType<typeof sink>;
    stop: () => Promise<void>;
  }> {
    const out = sink();
    const err = sink();
    const abort = new AbortController();
    const done = run(argv, { out, err, env, signal: abort.signal });
    await Promise.race([
      waitFor(`the command to subscribe (stderr: ${err.text})`, () => ready.test(err.text)),
      done,
    ]);
    return {
      out,
      err,
      stop: async () => {
        abort.abort();
        await done;
      },
    };
  }

  it('ferry tap shows a request made through the sidecar within a second', async () => {
    const tap = await start(runTap, ['svc/web']);
    try {
      assert.equal(web.tapping, true);
      assert.equal(api.tapping, false, 'only the tapped service is tapped');
      const reply = await call('/users/1');
      assert.equal(reply.status, 200);
      const sent = performance.now();
      await waitFor('the tap line', () => tap.out.text.includes(':path=/users/1'), 1000, 2);
      const line = tap.out.text.split('\n').find((l) => l.includes(':path=/users/1')) ?? '';
      assert.match(
        line,
        /^rsp sidecar=web-1\.default dir=out src=web\.default dst=api\.default :method=GET :authority=api:8080 :path=\/users\/1 :status=200 latency=[\d.]+ms peer=- flags=- upstream=127\.0\.0\.1:\d+$/,
      );
      assert.ok(performance.now() - sent < 1000);
    } finally {
      await tap.stop();
    }
    await waitFor('the tap to be released when the client leaves', () => !web.tapping);
  });

  it('applies the filters in the sidecar: method, path prefix, direction', async () => {
    const tap = await start(runTap, [
      'api',
      '--method',
      'post',
      '--path',
      '/orders',
      '--direction',
      'inbound',
      '-o',
      'json',
    ]);
    try {
      await call('/users/2');
      await call('/orders/7', 'POST');
      await waitFor('the POST', () => tap.out.text.includes('/orders/7'));
      const events = tap.out.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      // Events arrive in order: the GET, had it matched, would be here first.
      assert.equal(events.length, 1);
      assert.equal(events[0].sidecar, 'api-1.default');
      assert.equal(events[0].direction, 'inbound');
      assert.equal(events[0].method, 'POST');
      assert.equal(events[0].source, 'unknown', 'plaintext: no caller identity');
      assert.equal(events[0].destination, 'api.default');
      assert.equal(events[0].status, 200);
    } finally {
      await tap.stop();
    }
  });

  it('shows local replies with their response flags, and stops after --count', async () => {
    const out = sink();
    const err = sink();
    const done = runTap(['web-1.default', '--count', '1', '--authority', 'nowhere'], {
      out,
      err,
      env,
    });
    await waitFor('the subscription', () => err.text.includes('tapping'));
    const reply = await send(web.ports.outbound, { host: 'nowhere:1', path: '/x' });
    assert.equal(reply.status, 404);
    await done;
    assert.match(out.text, /:authority=nowhere:1 :path=\/x :status=404 .* flags=NR\n$/);
  });

  it('says what is wrong with a bad filter or an unknown target', async () => {
    await assert.rejects(
      runTap(['web', '--path', 'users'], { out: sink(), err: sink(), env }),
      /web-1\.default \(127\.0\.0\.1:\d+\) refused the tap: path must be a path prefix starting with "\/", got "users"/,
    );
    await assert.rejects(
      runTap(['shop'], { out: sink(), err: sink(), env }),
      (e: Error & { code?: string }) =>
        e.code === 'FERRY_NOT_FOUND' && /connected: api-1\.default, web-1\.default/.test(e.message),
    );
  });

  it('ferry tap as a process, straight to an admin port', async () => {
    const run = runCli(
      ['tap', '--admin', `127.0.0.1:${web.ports.admin}`, '--count', '1'],
      undefined,
      process.env,
    );
    await waitFor('the process to subscribe', () => web.tapping, 10_000);
    await call('/from-process');
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /:path=\/from-process :status=200/);
  });

  it('ferry top counts the busiest paths, busiest first, with success rates', async () => {
    const top = await start(runTop, ['web', '--interval', '100ms']);
    try {
      for (let i = 0; i < 3; i++) await call(`/busy?i=${i}`);
      await call('/fail/1');
      await call('/quiet');
      await waitFor('a frame with every request', () => {
        const frames = top.out.text.split('SOURCE');
        return /\/quiet +1 /.test(frames[frames.length - 1] ?? '');
      });
    } finally {
      await top.stop();
    }
    const frames = top.out.text.split('SOURCE');
    const last = (frames[frames.length - 1] ?? '').trim().split('\n').slice(1);
    assert.match(
      last[0] ?? '',
      /^web\.default +api\.default +GET +\/busy +3 +\S+ms +\S+ms +\S+ms +100\.00%$/,
    );
    assert.match(top.out.text, /\/fail\/1 +1 .* 0\.00%/);
  });

  it('ferry top --once prints one table after the interval and exits', async () => {
    const run = await runCli(['top', 'api', '--once', '--interval', '200ms'], undefined, {
      ...process.env,
      ...env,
    });
    assert.equal(run.code, 0, run.stderr);
    // Nothing calls api meanwhile.
    assert.equal(run.stdout, 'No requests yet.\n');
    assert.match(run.stderr, /^counting requests through api-1\.default\n$/);
  });

  it('ferry stat prints golden metrics per service and per workload', async () => {
    let running = true;
    const traffic = (async () => {
      let n = 0;
      while (running) await call(n++ % 10 === 9 ? '/fail/x' : '/ok');
    })();
    try {
      const out = sink();
      await runStat(['svc/api', '--window', '1s', '-o', 'json'], { out, err: sink(), env });
      const [row] = JSON.parse(out.text);
      assert.equal(row.name, 'api');
      assert.equal(row.namespace, 'default');
      assert.equal(row.meshed, 1);
      assert.ok(row.requests > 0 && row.rps > 0, out.text);
      assert.ok(row.successRate > 0 && row.successRate < 1, 'some /fail requests are 503s');
      assert.ok(row.p50 > 0 && row.p50 <= row.p95 && row.p95 <= row.p99, out.text);
      assert.equal(row.mtlsShare, 0, 'plaintext between the sidecars');
      const table = sink();
      await runStat(['workload', '--window', '200ms'], { out: table, err: sink(), env });
      assert.match(
        table.text,
        /^NAME +NAMESPACE +MESHED +SUCCESS +RPS +LATENCY_P50 +LATENCY_P95 +LATENCY_P99 +MTLS\n/,
      );
      assert.match(table.text, /\napi +default +1 +\d/);
      assert.match(table.text, /\nweb +default +1 +/);
    } finally {
      running = false;
      await traffic;
    }
  });
});
