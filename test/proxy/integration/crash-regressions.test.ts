/**
 * Issue 12, "a single connection kills a sidecar": each input below once ended the whole
 * sidecar process (an unhandled 'error' event, or a throw from the HTTP/2 response path).
 * Each runs here against a live `ferry proxy` process, on the fast HTTP/1.1 path and on
 * node's; afterwards the process must still be alive, must answer a normal request, and its
 * last-resort uncaught-error counter must still be 0 (a crash it merely survived is a bug too).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { mesh, service } from '../../support/mesh.js';
import { startControlPlane } from '../../support/mesh-harness.js';
import { RawClient } from '../../support/raw-http.js';
import { type SidecarProcess, startSidecarProcess } from '../../support/sidecar-process.js';
import { waitFor } from '../../support/wait-for.js';

/**
 * An upstream that answers with a status line no client can be given: 600 by default (no
 * HTTP version can carry it), or the status line the request's path names (/s/101...).
 */
async function status600Upstream(): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.once('data', (d: Buffer) => {
      const m = /^[A-Z]+ \/s\/([^ ]+) /.exec(d.toString('latin1'));
      const line = m ? decodeURIComponent(m[1]) : '600 Beyond';
      s.end(`HTTP/1.1 ${line}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: no input kills a sidecar process (HTTP/1.1 ${http1} path)`, function () {
    this.timeout(30_000);
    let cp: ControlPlane;
    let upstream: HttpUpstream;
    let weird: net.Server;
    let proxy: SidecarProcess;

    before(async () => {
      upstream = await startHttpUpstream('api', (seen, req, res) => {
        if (seen.url === '/early') {
          // Answers before the body has arrived, and does not wait for it.
          res.end('early');
          return true;
        }
        if (seen.url === '/upload') {
          let n = 0;
          req.on('data', (d: Buffer) => (n += d.length));
          req.on('end', () => res.end(`got ${n}`));
          return true;
        }
        return false;
      });
      weird = await status600Upstream();
      const weirdPort = (weird.address() as AddressInfo).port;
      cp = await startControlPlane(
        mesh(
          service('api', 8080, 'http', [upstream.port]),
          service('weird', 8080, 'http', [weirdPort]),
          // The same app with retries on: a streamed body is teed for a replay.
          service('retrying', 8080, 'http', [upstream.port], {
            policy: {
              loadBalancer: 'round_robin',
              connectTimeoutMs: 5000,
              retries: {
                attempts: 2,
                on: ['5xx', 'reset'],
                retriableStatusCodes: [],
                backoffBaseMs: 25,
                backoffMaxMs: 250,
              },
            },
          }),
        ),
      );
      proxy = await startSidecarProcess([
        '--xds',
        `127.0.0.1:${cp.xdsPort}`,
        '--service',
        'client',
        '--http1',
        http1,
      ]);
      await waitFor('the api cluster to have its endpoint', async () => {
        const r = await send(proxy.ports.outbound, { host: 'api:8080', path: '/ok' });
        return r.status === 200;
      });
    });

    after(async () => {
      await proxy?.kill();
      await cp?.close();
      await upstream?.close();
      weird?.close();
    });

    /** The process lives, serves a normal request, and counted no uncaught error. */
    async function stillServing(): Promise<void> {
      // Give a crash that is scheduled (an 'error' emitted on the next tick) time to happen:
      // a round trip through the admin port is several turns of the proxy's event loop.
      await send(proxy.ports.admin, { path: '/stats' });
      assert.equal(proxy.child.exitCode, null, `the sidecar died: ${proxy.stderr()}`);
      const r = await send(proxy.ports.outbound, { host: 'api:8080', path: '/ok' });
      assert.equal(r.status, 200);
      assert.equal(r.body, 'api');
      const prom = await send(proxy.ports.metrics, { path: '/stats/prometheus' });
      const uncaught = /ferry_proxy_uncaught_errors_total (\d+)/.exec(prom.body)?.[1];
      assert.equal(uncaught, '0', `errors reached the last resort: ${proxy.stderr().slice(-3000)}`);
      assert.equal(proxy.child.exitCode, null, `the sidecar died: ${proxy.stderr()}`);
    }

    for (const host of ['api:8080', 'retrying:8080']) {
      // With retries on, a streamed body is also teed into a copy kept for a replay.
      const where = host === 'api:8080' ? '' : ' (a route with retries)';

      it(`regression: a client that closes its connection in the middle of a request body${where}`, async () => {
        const before = upstream.seen.length;
        const c = await RawClient.connect(proxy.ports.outbound);
        c.write(
          `POST /upload HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 100000\r\n\r\n${'x'.repeat(1000)}`,
        );
        // The request reached the upstream with part of its body: then the upload is aborted.
        await waitFor('the upstream to see the upload', () => upstream.seen.length > before);
        c.destroy();
        await waitFor('the upstream to be let go of', () => upstream.inFlight === 0);
        await stillServing();
      });

      it(`regression: a request with a body the upstream answers early, then the client closes${where}`, async () => {
        const c = await RawClient.connect(proxy.ports.outbound);
        c.write(
          `POST /early HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 100000\r\n\r\n${'y'.repeat(500)}`,
        );
        const r = await c.response();
        assert.equal(r.status, 200);
        assert.equal(r.body, 'early');
        c.destroy();
        await stillServing();
      });
    }

    it('regression: a request with a body and no route (404 NR), then the client closes', async () => {
      const c = await RawClient.connect(proxy.ports.outbound);
      c.write('POST / HTTP/1.1\r\nhost: nowhere.example\r\ncontent-length: 100\r\n\r\nabc');
      const r = await c.response();
      assert.equal(r.status, 404);
      assert.equal(r.headers['x-ferry-response-flags'], 'NR');
      c.destroy();
      await stillServing();
    });

    for (const how of ['resets its stream', 'closes its connection'] as const) {
      for (const host of ['api:8080', 'retrying:8080', 'nowhere.example', 'weird:8080']) {
        it(`an HTTP/2 client that ${how} mid-body (${host})`, async () => {
          const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound}`);
          session.on('error', () => undefined);
          const req = session.request({
            ':method': 'POST',
            ':path': host === 'api:8080' ? '/upload' : '/early',
            ':authority': host,
          });
          req.on('error', () => undefined);
          req.on('response', () => undefined);
          req.resume();
          req.write('z'.repeat(2000));
          // The request is under way (answered or not): then the client gives up on it.
          await send(proxy.ports.admin, { path: '/stats' });
          if (how === 'resets its stream') req.close(http2.constants.NGHTTP2_CANCEL);
          session.destroy();
          await waitFor('the upstream to be let go of', () => upstream.inFlight === 0);
          await stillServing();
        });
      }
    }

    it('regression: a chunked request answered 404, then the client closes', async () => {
      const c = await RawClient.connect(proxy.ports.outbound);
      c.write(
        'POST / HTTP/1.1\r\nhost: nowhere.example\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n',
      );
      const r = await c.response();
      assert.equal(r.status, 404);
      c.destroy();
      await stillServing();
    });

    it('regression: a chunked request answered 404, then a malformed chunk', async () => {
      const c = await RawClient.connect(proxy.ports.outbound);
      c.write(
        'POST / HTTP/1.1\r\nhost: nowhere.example\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n',
      );
      const r = await c.response();
      assert.equal(r.status, 404);
      c.write('zz\r\nnot a chunk\r\n');
      // The connection cannot be parsed further: the sidecar closes it.
      assert.equal(await c.closedWithin(5000), true);
      c.destroy();
      await stillServing();
    });

    it('regression: a malformed chunk in a request being forwarded is answered 400 DPE', async () => {
      const c = await RawClient.connect(proxy.ports.outbound);
      c.write('POST /upload HTTP/1.1\r\nhost: api:8080\r\ntransfer-encoding: chunked\r\n\r\n');
      c.write('5\r\nhello\r\nzz\r\n');
      const r = await c.response();
      assert.equal(r.status, 400);
      assert.equal(await c.closedWithin(5000), true);
      c.destroy();
      await stillServing();
    });

    it('regression: an upstream answering status 600 to an HTTP/2 client gets 502 UPE', async () => {
      const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound}`);
      session.on('error', () => undefined);
      try {
        const { status, flags } = await new Promise<{ status: number; flags: string }>(
          (resolve, reject) => {
            const req = session.request({ ':path': '/', ':authority': 'weird:8080' });
            req.on('response', (h) =>
              resolve({
                status: Number(h[':status']),
                flags: String(h['x-ferry-response-flags'] ?? ''),
              }),
            );
            req.on('error', reject);
            req.resume();
            req.end();
          },
        );
        assert.equal(status, 502);
        assert.equal(flags, 'UPE');
      } finally {
        session.close();
      }
      await stillServing();
    });

    for (const line of ['101 Switching Protocols', '099 Low', '1000 Big', '2xx Bad']) {
      it(`an upstream answering "${line}" to a plain request gets 502 UPE (HTTP/1.1 and HTTP/2 clients)`, async () => {
        const path = `/s/${encodeURIComponent(line)}`;
        const r = await send(proxy.ports.outbound, { host: 'weird:8080', path });
        assert.deepEqual([r.status, r.flags], [502, 'UPE']);
        const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound}`);
        session.on('error', () => undefined);
        try {
          const h = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
            const req = session.request({ ':path': path, ':authority': 'weird:8080' });
            req.on('response', resolve);
            req.on('error', reject);
            req.resume();
          });
          assert.deepEqual([h[':status'], h['x-ferry-response-flags']], [502, 'UPE']);
        } finally {
          session.close();
        }
        await stillServing();
      });
    }

    it('an upstream answering status 600 to an HTTP/1.1 client gets 502 UPE', async () => {
      const r = await send(proxy.ports.outbound, { host: 'weird:8080', path: '/' });
      assert.equal(r.status, 502);
      assert.equal(r.flags, 'UPE');
      await stillServing();
    });
  });
}
