/**
 * Slow readers and writers (issue 12, "bounded under abuse"): a client that stops reading a
 * large response (HTTP/2, HTTP/1.1) must not make the sidecar buffer it; the upstream is
 * paused instead, so what the upstream manages to write stays bounded by the buffers on the
 * way (flow-control windows, socket buffers), far below the response's size. The same for an
 * upstream that stops reading a large request body. Bytes, not time, are asserted: the
 * writer is watched until it makes no progress (or finishes), then its count is checked, and
 * everything still arrives whole once the reader reads again. Both upstream engines.
 */
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { sleep, waitFor } from '../../support/wait-for.js';

const TOTAL = 128 * 1024 * 1024;
/** What the buffers between writer and stalled reader may hold: well below TOTAL. */
const BOUND = 32 * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 'x');

/** Watches a byte count until it stops moving (or reaches TOTAL): a condition, not a clock. */
async function settled(count: () => number, what: string): Promise<number> {
  let last = -1;
  let still = 0;
  for (;;) {
    const now = count();
    if (now >= TOTAL || (now === last && ++still >= 10)) {
      console.log(`      ${what}: ${(now / 1048576).toFixed(1)} of ${TOTAL / 1048576} MiB`);
      return now;
    }
    if (now !== last) still = 0;
    last = now;
    await sleep(100);
  }
}

interface Upstream {
  server: http.Server;
  /** Response bytes the upstream got written (accepted by its socket). */
  written: number;
  /** Request body bytes it read; reading starts when `readBody` is called. */
  read: number;
  readBody?: () => void;
}

function upstream(): Promise<Upstream> {
  const u: Upstream = { server: undefined as unknown as http.Server, written: 0, read: 0 };
  u.server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/upload') {
      req.pause();
      u.readBody = () => {
        req.on('data', (d: Buffer) => (u.read += d.length));
        req.on('end', () => res.end(String(u.read)));
        req.resume();
      };
      return;
    }
    res.writeHead(200, { 'content-length': TOTAL });
    const pump = () => {
      while (u.written < TOTAL) {
        u.written += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  return new Promise((r) => u.server.listen(0, '127.0.0.1', () => r(u)));
}

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: slow readers and writers are paused, not buffered (upstream engine ${http1})`, function () {
    this.timeout(60_000);
    let up: Upstream;
    let cp: ControlPlane;
    let sidecar: Sidecar;

    beforeEach(async () => {
      up = await upstream();
      const port = (up.server.address() as AddressInfo).port;
      // No route timeout: Envoy's default of 15 s spans the whole response, and moving 128 MiB
      // through a stall takes longer than that on a loaded machine (the sidecar then reset the
      // stream, rightly: NGHTTP2_INTERNAL_ERROR). Streams this long turn it off, as here.
      cp = await startControlPlane(
        mesh(
          service('big', 8080, 'http', [port], {
            policy: { loadBalancer: 'round_robin', connectTimeoutMs: 5000, timeoutMs: 0 },
          }),
        ),
      );
      sidecar = await startSidecar(cp.xdsPort, { service: 'client', http1 });
      await waitForHosts(sidecar, clusterName('big', 8080), 1);
    });

    afterEach(async () => {
      await sidecar?.stop(0);
      await cp?.close();
      up.server.closeAllConnections();
      up.server.close();
    });

    it('an HTTP/2 client that stops reading: the upstream is paused (bytes in flight bounded), then all arrives', async () => {
      const session = http2.connect(`http://127.0.0.1:${sidecar.ports.outbound}`);
      session.on('error', () => undefined);
      const req = session.request({ ':path': '/big', ':authority': 'big:8080' });
      let received = 0;
      req.once('data', (d: Buffer) => {
        received += d.length;
        req.pause();
      });
      const held = await settled(() => up.written, 'upstream wrote before the stall');
      assert.ok(
        held < BOUND,
        `the upstream wrote ${held} of ${TOTAL} bytes to a client not reading`,
      );
      req.on('data', (d: Buffer) => (received += d.length));
      req.resume();
      await new Promise((r) => req.on('end', r));
      assert.equal(received, TOTAL);
      session.close();
    });

    it('an HTTP/1.1 client that stops reading: the upstream is paused, then all arrives', async () => {
      const socket = net.connect(sidecar.ports.outbound, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET /big HTTP/1.1\r\nHost: big:8080\r\n\r\n');
      let received = 0;
      socket.once('data', (d: Buffer) => {
        received += d.length;
        socket.pause();
      });
      const held = await settled(() => up.written, 'upstream wrote before the stall');
      assert.ok(
        held < BOUND,
        `the upstream wrote ${held} of ${TOTAL} bytes to a client not reading`,
      );
      socket.on('data', (d: Buffer) => (received += d.length));
      socket.resume();
      // The head and the body.
      await waitFor('the whole response', () => received > TOTAL, 30_000);
      socket.destroy();
    });

    it('an upstream that stops reading a request body: the client is paused, then all arrives', async () => {
      const socket = net.connect(sidecar.ports.outbound, '127.0.0.1');
      socket.on('error', () => undefined);
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      socket.write(`POST /upload HTTP/1.1\r\nHost: big:8080\r\ncontent-length: ${TOTAL}\r\n\r\n`);
      let sent = 0;
      let stop = false;
      const pump = async () => {
        while (sent < TOTAL && !stop) {
          sent += CHUNK.length;
          if (!socket.write(CHUNK)) await new Promise((r) => socket.once('drain', r));
        }
      };
      const pumping = pump();
      await waitFor('the upload reached the upstream', () => up.readBody !== undefined);
      // Bytes the client's socket took (its own buffer is the writer's, not the sidecar's).
      const held = await settled(
        () => sent - socket.writableLength,
        'client sent before the stall',
      );
      assert.ok(
        held < BOUND,
        `the client got ${held} of ${TOTAL} bytes in to an upstream not reading`,
      );
      up.readBody?.();
      await pumping;
      await waitFor('the upstream read it all', () => answer.endsWith(`\r\n\r\n${TOTAL}`), 30_000);
      stop = true;
      socket.destroy();
    });
  });
}
