/**
 * What an HTTP/1.1 upstream's answer becomes for an HTTP/2 client (issue 12, "unbounded"):
 * a body cut short by the upstream must reach the client as a reset stream, never as a
 * clean end of stream (that would hide the truncation), and a 204 that carries a
 * Content-Length must not become a stream error (RFC 9110 §8.6: a 204 has none; nghttp2
 * refuses one). Both upstream engines: Ferry's own HTTP/1.1 pool and undici's (`--http1 node`).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';

/** Raw HTTP/1.1 answers by path: a body cut short, a 204 with Content-Length. */
async function rawUpstream(): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => {
      const path = d.toString('latin1').split(' ')[1];
      if (path === '/cut') {
        s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b');
      } else if (path === '/cut-chunked') {
        s.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\na\r\nonly ten b\r\n');
      } else if (path === '/bad-trailers') {
        // Trailers HTTP/2 forbids (connection-specific fields, RFC 9113 §8.2.2).
        s.end(
          'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n' +
            'connection: close\r\nkeep-alive: 5\r\nx-fine: 1\r\n\r\n',
        );
      } else if (path === '/bad-headers') {
        s.write(
          'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\nproxy-authenticate: x\r\n' +
            'http2-settings: x\r\nte: gzip\r\n\r\nok',
        );
      } else if (path === '/no-content') {
        s.write('HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nx-seen: yes\r\n\r\n');
      } else {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

interface H2Result {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  /** 'end' for a clean end of stream, else the error code the stream closed with. */
  ending: string;
}

function h2Get(session: http2.ClientHttp2Session, path: string): Promise<H2Result> {
  return new Promise((resolve) => {
    const req = session.request({ ':path': path, ':authority': 'raw:8080' });
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    let body = '';
    let ended = false;
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    req.on('data', (d: Buffer) => (body += d.toString('latin1')));
    req.on('end', () => (ended = true));
    req.on('error', () => undefined);
    req.on('close', () =>
      resolve({
        status,
        headers,
        body,
        ending:
          ended && req.rstCode === http2.constants.NGHTTP2_NO_ERROR ? 'end' : `rst ${req.rstCode}`,
      }),
    );
  });
}

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: an HTTP/1.1 upstream's answer to an HTTP/2 client (upstream engine ${http1})`, function () {
    this.timeout(20_000);
    let upstream: net.Server;
    let cp: ControlPlane;
    let sidecar: Sidecar;
    let session: http2.ClientHttp2Session;

    before(async () => {
      upstream = await rawUpstream();
      const port = (upstream.address() as AddressInfo).port;
      cp = await startControlPlane(mesh(service('raw', 8080, 'http', [port])));
      sidecar = await startSidecar(cp.xdsPort, { service: 'client', http1 });
      await waitForHosts(sidecar, clusterName('raw', 8080), 1);
      session = http2.connect(`http://127.0.0.1:${sidecar.ports.outbound}`);
      session.on('error', () => undefined);
    });

    after(async () => {
      session?.destroy();
      await sidecar?.stop(0);
      await cp?.close();
      upstream?.close();
    });

    for (const path of ['/cut', '/cut-chunked']) {
      it(`a body the upstream cuts short (${path}) is a reset stream, not a clean end`, async () => {
        const r = await h2Get(session, path);
        assert.equal(r.status, 200);
        assert.equal(r.body, 'only ten b');
        assert.notEqual(r.ending, 'end', 'the truncation was hidden');
        assert.equal(r.ending, `rst ${http2.constants.NGHTTP2_INTERNAL_ERROR}`);
      });
    }

    for (const path of ['/bad-trailers', '/bad-headers']) {
      it(`regression: connection-specific fields from the upstream (${path}) are dropped, not a crash or stream error`, async () => {
        const r = await h2Get(session, path);
        assert.deepEqual([r.status, r.body, r.ending], [200, 'ok', 'end']);
        const next = await h2Get(session, '/ok');
        assert.deepEqual([next.status, next.body, next.ending], [200, 'ok', 'end']);
      });
    }

    it('a 204 with Content-Length reaches the client as a 204, without it', async () => {
      const r = await h2Get(session, '/no-content');
      assert.equal(r.status, 204);
      assert.equal(r.ending, 'end');
      assert.equal(r.headers['x-seen'], 'yes');
      assert.equal(r.headers['content-length'], undefined);
      // The session is still good for the next request.
      const next = await h2Get(session, '/ok');
      assert.deepEqual([next.status, next.body, next.ending], [200, 'ok', 'end']);
    });
  });
}
