/**
 * Graceful drain of a sidecar's listeners (what SIGTERM and POST /drain start), step by
 * step over bare sockets so the timing is exact, for both HTTP/1.1 paths (the fast path and
 * node's server). The rule asserted throughout: once the drain has started, a request is
 * either answered in full, with `connection: close`, or never sent upstream and left
 * unanswered on a connection the sidecar closes (which tells the client it may retry it).
 * No request is sent upstream and then lost, and no connection stays in keep-alive.
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { RawClient, statusLines } from '../../support/raw-http.js';
import { sleep, waitFor } from '../../support/wait-for.js';

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: api:8080\r\n\r\n`;

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: drain (HTTP/1.1 ${http1} path)`, function () {
    this.timeout(20_000);
    let cp: ControlPlane;
    let upstream: HttpUpstream;
    let sidecar: Sidecar | undefined;
    let raw: RawClient | undefined;

    /** Whether the upstream has seen a request for `path`. */
    const upstreamSaw = (path: string) => upstream.seen.some((s) => s.url === path);

    before(async () => {
      upstream = await startHttpUpstream('api', (seen, _req, res) => {
        if (seen.url === '/slow') {
          setTimeout(() => res.end('slow done'), 300);
          return true;
        }
        if (seen.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('first;');
          setTimeout(() => res.end('last'), 300);
          return true;
        }
        return false;
      });
      cp = await startControlPlane(mesh(service('api', 8080, 'http', [upstream.port])));
    });

    beforeEach(async () => {
      upstream.seen.length = 0;
      sidecar = await startSidecar(cp.xdsPort, { service: 'client', http1, drainMs: 10_000 });
      await waitForHosts(sidecar, clusterName('api', 8080), 1);
      raw = await RawClient.connect(sidecar.ports.outbound);
    });

    afterEach(async () => {
      raw?.destroy();
      await sidecar?.stop(0);
    });

    after(async () => {
      await cp?.close();
      await upstream?.close();
    });

    it('a request in flight when the drain starts completes; its connection then closes and the drain ends', async () => {
      raw!.write(get('/slow'));
      await waitFor('the request to reach the upstream', () => upstream.inFlight === 1);
      const stopping = sidecar!.stop(10_000).then(() => 'drained');
      const r = await raw!.response();
      const closed = await raw!.closedWithin(2000);
      // The drain ends because the last connection closed, long before its 10 s deadline.
      const ended = await Promise.race([stopping, sleep(5000).then(() => 'still draining')]);
      console.log(
        `      ${r.status} "${r.body}" (connection: ${r.headers.connection}); connection closed: ${closed}; drain: ${ended}`,
      );
      assert.equal(r.status, 200);
      assert.equal(r.body, 'slow done');
      assert.ok(closed, 'the sidecar closed the connection after the response');
      assert.equal(ended, 'drained');
    });

    // Regression (fast path): the drain ended idle connections with a FIN but still served a
    // request that arrived on one afterwards: sent upstream, its response written to a
    // closed socket and lost (the client saw ECONNRESET for a request the upstream got).
    it('a request arriving on an idle connection the drain just closed is answered in full or not sent upstream', async () => {
      raw!.write(get('/first'));
      assert.equal((await raw!.response()).status, 200);
      void sidecar!.stop(10_000);
      // The drain has just closed this idle connection; the client has not seen it yet.
      raw!.write(get('/after'));
      assert.ok(await raw!.closedWithin(2000), 'the sidecar closed the connection');
      const answered = statusLines(raw!.received);
      console.log(
        `      after the drain: upstream got /after: ${upstreamSaw('/after')}; client got ${JSON.stringify(answered)}`,
      );
      if (upstreamSaw('/after')) {
        const r = await raw!.response(100);
        assert.equal(r.status, 200, 'sent upstream, so it must be answered');
        assert.equal(r.headers.connection?.toLowerCase(), 'close');
      } else {
        assert.deepEqual(answered, [], 'not sent upstream and not answered');
      }
    });

    // Regression (node path): node's server is handed sockets and never listens, so it did
    // not know it was closing: it kept busy connections in keep-alive and, tracking no
    // connections, closeIdleConnections() did nothing; a drain never closed a keep-alive
    // connection and ended only at its deadline, cutting whatever was in flight then.
    it('a response already streaming when the drain starts: afterwards its connection serves nothing more in keep-alive', async () => {
      raw!.write(get('/stream'));
      await waitFor('the response head', () => raw!.received.includes('first;'));
      void sidecar!.stop(10_000);
      const r = await raw!.response();
      assert.equal(r.status, 200);
      assert.equal(r.body, 'first;last');
      raw!.write(get('/next'));
      assert.ok(await raw!.closedWithin(2000), 'the sidecar closed the connection');
      const sent = upstreamSaw('/next');
      console.log(
        `      streaming response completed "${r.body}"; then /next: sent upstream ${sent}, client got ${JSON.stringify(statusLines(raw!.received))}`,
      );
      if (sent) {
        const next = await raw!.response(100);
        assert.equal(next.status, 200, 'sent upstream, so it must be answered');
        assert.equal(next.headers.connection?.toLowerCase(), 'close');
      } else {
        assert.deepEqual(statusLines(raw!.received), []);
      }
    });
  });
}
