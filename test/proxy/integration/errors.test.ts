/**
 * Requests the sidecar must refuse or cannot complete, sent as raw bytes over a socket (or
 * over HTTP/2) so nothing in a client library smooths them over, on both HTTP/1.1 paths.
 * Each is answered exactly once with the status that says what went wrong (or, where no
 * answer is possible, the connection is closed), the upstream is let go of, and the
 * sidecar goes on serving: the next request is answered normally.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { getJson, send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { RawClient, statusLines } from '../../support/raw-http.js';
import { waitFor } from '../../support/wait-for.js';

interface ClustersPage {
  clusters: Array<{ name: string; hosts: Array<{ address: string; active: number }> }>;
}

/** Sends bytes on a new connection; everything received until the sidecar closes it. */
async function exchangeRaw(
  port: number,
  bytes: string,
): Promise<{ text: string; closed: boolean }> {
  const c = await RawClient.connect(port);
  c.write(bytes);
  const closed = await c.closedWithin(3000);
  c.destroy();
  return { text: c.received, closed };
}

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: errors answered once (HTTP/1.1 ${http1} path)`, function () {
    this.timeout(20_000);
    let cp: ControlPlane;
    let sidecar: Sidecar;
    let upstream: HttpUpstream;

    const serving = async () => {
      const r = await send(sidecar.ports.outbound, { host: 'api:8080', path: '/ok' });
      return `${r.status} ${r.body}`;
    };
    const activeUpstream = async () => {
      const page = await getJson<ClustersPage>(sidecar.ports.admin, '/clusters?format=json');
      return page.clusters.find((c) => c.name === clusterName('api', 8080))!.hosts[0].active;
    };

    before(async () => {
      upstream = await startHttpUpstream('api', (seen, _req, res) => {
        if (seen.url === '/stream') {
          // A long response in small pieces: 200 chunks, 10 ms apart.
          res.writeHead(200, { 'content-type': 'text/plain' });
          let n = 0;
          const t = setInterval(() => {
            res.write(`chunk-${n}\n`);
            if (++n === 200) {
              clearInterval(t);
              res.end();
            }
          }, 10);
          res.once('close', () => clearInterval(t));
          return true;
        }
        if (seen.url === '/slow') {
          const t = setTimeout(() => res.end('late'), 5000);
          res.once('close', () => clearTimeout(t));
          return true;
        }
        return false;
      });
      cp = await startControlPlane(mesh(service('api', 8080, 'http', [upstream.port])));
      sidecar = await startSidecar(cp.xdsPort, { service: 'client', http1 });
      await waitForHosts(sidecar, clusterName('api', 8080), 1);
    });

    after(async () => {
      await sidecar?.stop(0);
      await cp?.close();
      await upstream?.close();
    });

    it('no route: 404 NR, once, and the same keep-alive connection serves the next request', async () => {
      const noRouteBefore = sidecar.stats.noRoute;
      const c = await RawClient.connect(sidecar.ports.outbound);
      try {
        c.write('GET /x HTTP/1.1\r\nHost: nowhere:8080\r\n\r\n');
        const r = await c.response();
        c.write('GET http://nowhere.else/y HTTP/1.1\r\nHost: nowhere.else\r\n\r\n');
        const r2 = await c.response();
        c.write('GET /ok HTTP/1.1\r\nHost: api:8080\r\nConnection: close\r\n\r\n');
        const r3 = await c.response();
        assert.ok(await c.closedWithin(2000));
        console.log(
          `      ${r.status} ${r.headers['x-ferry-response-flags']} "${r.body}"; ${r2.status} "${r2.body}"; then ${r3.status} "${r3.body}" on the same connection`,
        );
        assert.equal(r.status, 404);
        assert.equal(r.headers['x-ferry-response-flags'], 'NR');
        assert.equal(r.body, 'no route for nowhere:8080/x');
        assert.equal(r2.status, 404);
        assert.equal(r2.body, 'no route for nowhere.else/y');
        assert.equal(r3.status, 200);
        assert.equal(r3.body, 'api');
        assert.equal(c.received, '', 'nothing more than the three responses');
        assert.equal(sidecar.stats.noRoute - noRouteBefore, 2, 'each counted once');
      } finally {
        c.destroy();
      }
    });

    const malformed: Array<[string, string, number]> = [
      [
        'a space in a header name',
        'GET / HTTP/1.1\r\nHost: api:8080\r\nBad Header: x\r\n\r\n',
        400,
      ],
      ['a garbage request line', 'HELLO\r\n\r\n', 400],
      [
        'a control character in a header value',
        'GET / HTTP/1.1\r\nHost: api:8080\r\nX: a\x01b\r\n\r\n',
        400,
      ],
      ['no Host header', 'GET / HTTP/1.1\r\n\r\n', 400],
      [
        'a Content-Length that is not a number',
        'POST / HTTP/1.1\r\nHost: api:8080\r\nContent-Length: ten\r\n\r\n',
        400,
      ],
      [
        'both Content-Length and Transfer-Encoding',
        'POST / HTTP/1.1\r\nHost: api:8080\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'a 70 KB header (over the 60 KiB limit)',
        `GET / HTTP/1.1\r\nHost: api:8080\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
        431,
      ],
    ];
    for (const [what, bytes, status] of malformed) {
      it(`${what}: ${status} once, the connection closed, nothing sent upstream; the sidecar keeps serving`, async () => {
        const seenBefore = upstream.seen.length;
        const { text, closed } = await exchangeRaw(sidecar.ports.outbound, bytes);
        const lines = statusLines(text);
        console.log(
          `      ${JSON.stringify(lines)}, closed ${closed}; next request: ${await serving()}`,
        );
        assert.deepEqual(lines, [`HTTP/1.1 ${status}`]);
        assert.ok(closed, 'the sidecar closed the connection');
        assert.equal(
          upstream.seen.length - seenBefore,
          1,
          'only the follow-up request reached the upstream',
        );
        assert.equal(await serving(), '200 api');
      });
    }

    // Regression: the fast path used to reset the connection without an answer.
    it("a malformed chunked body: one 400 (DPE) on the fast path, at most one on node's, the upstream request abandoned, the sidecar keeps serving", async () => {
      const abortedBefore = upstream.aborted;
      const { text, closed } = await exchangeRaw(
        sidecar.ports.outbound,
        'POST /slow HTTP/1.1\r\nHost: api:8080\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n',
      );
      const lines = statusLines(text);
      await waitFor(
        'the upstream request to be abandoned',
        async () => upstream.inFlight === 0 && (await activeUpstream()) === 0,
      );
      console.log(
        `      answered ${JSON.stringify(lines)}, closed ${closed}; upstream requests cut: ${upstream.aborted - abortedBefore}`,
      );
      assert.ok(lines.length <= 1, `answered ${lines.length} times`);
      if (http1 === 'fast') {
        assert.deepEqual(lines, ['HTTP/1.1 400']);
        assert.match(text, /x-ferry-response-flags: DPE/);
      }
      if (lines.length === 1) assert.equal(lines[0], 'HTTP/1.1 400');
      assert.ok(closed);
      assert.equal(await serving(), '200 api');
    });

    it('a client that goes away mid-response: the upstream response is cut, nothing leaks, the next request is fine', async () => {
      const resetsBefore = sidecar.stats.downstreamResets;
      const abortedBefore = upstream.aborted;
      const c = await RawClient.connect(sidecar.ports.outbound);
      c.write('GET /stream HTTP/1.1\r\nHost: api:8080\r\n\r\n');
      await waitFor('the first chunks', () => c.received.includes('chunk-2'));
      c.destroy();
      await waitFor(
        'the upstream response to be cut',
        () => upstream.aborted - abortedBefore === 1,
      );
      await waitFor(
        'the sidecar to let go of the upstream request',
        async () => (await activeUpstream()) === 0,
      );
      console.log(
        `      client left after ${c.received.split('chunk-').length - 1} chunks; upstream cut: ${upstream.aborted - abortedBefore}; DC counted: ${sidecar.stats.downstreamResets - resetsBefore}; next: ${await serving()}`,
      );
      assert.equal(sidecar.stats.downstreamResets - resetsBefore, 1);
      assert.equal(await serving(), '200 api');
    });

    it('a client that goes away before the response starts: the same', async () => {
      const abortedBefore = upstream.aborted;
      const c = await RawClient.connect(sidecar.ports.outbound);
      c.write('GET /slow HTTP/1.1\r\nHost: api:8080\r\n\r\n');
      await waitFor('the request to reach the upstream', () => upstream.inFlight === 1);
      c.destroy();
      await waitFor('the upstream request to be cut', () => upstream.aborted - abortedBefore === 1);
      await waitFor('the sidecar to let go of it', async () => (await activeUpstream()) === 0);
      assert.equal(await serving(), '200 api');
    });

    it('HTTP/2 (h2c): no route is 404 NR once; a stream reset mid-response leaves the session and the sidecar serving', async () => {
      const session = http2.connect(`http://127.0.0.1:${sidecar.ports.outbound}`);
      try {
        const request = (authority: string, path: string) =>
          new Promise<{ status: number; flags: string; body: string }>((resolve, reject) => {
            const s = session.request({ ':authority': authority, ':path': path });
            let body = '';
            let status = 0;
            let flags = '';
            s.on('response', (h) => {
              status = Number(h[':status']);
              flags = String(h['x-ferry-response-flags'] ?? '');
            });
            s.on('data', (d) => (body += d));
            s.on('end', () => resolve({ status, flags, body }));
            s.on('error', reject);
          });
        const nr = await request('nowhere:8080', '/x');
        assert.deepEqual(nr, { status: 404, flags: 'NR', body: 'no route for nowhere:8080/x' });
        const abortedBefore = upstream.aborted;
        const streaming = session.request({ ':authority': 'api:8080', ':path': '/stream' });
        await new Promise<void>((resolve) =>
          streaming.on('data', (d: Buffer) => {
            if (d.includes('chunk-2')) resolve();
          }),
        );
        streaming.close(http2.constants.NGHTTP2_CANCEL);
        await waitFor(
          'the upstream response to be cut',
          () => upstream.aborted - abortedBefore === 1,
        );
        const ok = await request('api:8080', '/ok');
        console.log(
          `      h2: ${nr.status} ${nr.flags}; stream cancelled mid-response, upstream cut; same session then ${ok.status} "${ok.body}"`,
        );
        assert.deepEqual(ok, { status: 200, flags: '', body: 'api' });
      } finally {
        session.close();
      }
    });
  });
}
