/**
 * Regression (issue 12, "bounded under abuse"): an HTTP/2 client that advertises the largest
 * flow-control windows RFC 9113 allows (SETTINGS_INITIAL_WINDOW_SIZE 2^31-1, §6.5.2, and a
 * WINDOW_UPDATE raising the connection window to 2^31-1, §6.9.1) and then stops reading its
 * socket. Flow control then never stops the sidecar, so only the downstream socket's write
 * backpressure can: the upstream must be paused, not the whole download buffered in the
 * sidecar's memory. Bytes, not time, are asserted (the upstream's count is watched until it
 * stops moving). Both upstream engines. The frames are written by hand over h2c with prior
 * knowledge, since node's client would read its socket.
 */
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import {
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FrameType,
  frame,
  headerBlock,
  PREFACE,
  settings,
  u32,
} from '../../support/h2-frames.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { sleep } from '../../support/wait-for.js';

const TOTAL = 512 * 1024 * 1024;
/** What the buffers between the upstream and a client not reading may hold. */
const BOUND = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 'x');
const MAX_WINDOW = 2 ** 31 - 1;
const SETTINGS_INITIAL_WINDOW_SIZE = 4;

/** Watches a byte count until it stops moving (or reaches TOTAL): a condition, not a clock. */
async function settled(count: () => number): Promise<number> {
  let last = -1;
  let still = 0;
  for (;;) {
    const now = count();
    if (now >= TOTAL || (now === last && ++still >= 10)) return now;
    if (now !== last) still = 0;
    last = now;
    await sleep(100);
  }
}

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: HTTP/2 client with maximal windows that stops reading (upstream engine ${http1})`, function () {
    this.timeout(120_000);
    let server: http.Server;
    let written = 0;
    let cp: ControlPlane;
    let sidecar: Sidecar;
    let client: net.Socket | undefined;

    beforeEach(async () => {
      written = 0;
      server = http.createServer((_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { 'content-length': TOTAL });
        const pump = () => {
          while (written < TOTAL) {
            written += CHUNK.length;
            if (!res.write(CHUNK)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      cp = await startControlPlane(mesh(service('big', 8080, 'http', [port])));
      sidecar = await startSidecar(cp.xdsPort, { service: 'client', http1 });
      await waitForHosts(sidecar, clusterName('big', 8080), 1);
    });

    afterEach(async () => {
      client?.destroy();
      await sidecar?.stop(0);
      await cp?.close();
      server.closeAllConnections();
      server.close();
    });

    it('regression: the upstream is paused by the downstream socket, not buffered to the window (512 MiB download)', async () => {
      const rssBefore = process.memoryUsage().rss;
      const socket = net.connect(sidecar.ports.outbound, '127.0.0.1');
      client = socket;
      socket.on('error', () => undefined);
      let received = 0;
      let gotData = false;
      socket.on('data', (d: Buffer) => {
        received += d.length;
        // Acknowledge the sidecar's SETTINGS, then stop reading once the body has begun.
        if (!gotData) {
          for (let at = 0; at + 9 <= d.length; ) {
            const len = d.readUIntBE(at, 3);
            if (d[at + 3] === FrameType.SETTINGS && (d[at + 4] & FLAG_ACK) === 0)
              socket.write(frame(FrameType.SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
            if (d[at + 3] === FrameType.DATA) gotData = true;
            at += 9 + len;
          }
        }
        if (gotData) socket.pause();
      });
      socket.write(
        Buffer.concat([
          PREFACE,
          settings([[SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW]]),
          frame(FrameType.WINDOW_UPDATE, 0, 0, u32(MAX_WINDOW - 65_535)),
          frame(
            FrameType.HEADERS,
            FLAG_END_STREAM | FLAG_END_HEADERS,
            1,
            headerBlock([
              [':method', 'GET'],
              [':scheme', 'http'],
              [':path', '/big'],
              [':authority', 'big:8080'],
            ]),
          ),
        ]),
      );
      const held = await settled(() => written);
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      console.log(
        `      upstream wrote ${(held / 1048576).toFixed(1)} of ${TOTAL / 1048576} MiB; ` +
          `process RSS grew ${(rssGrowth / 1048576).toFixed(1)} MiB; client read ${(received / 1048576).toFixed(1)} MiB`,
      );
      assert.ok(
        held < BOUND,
        `the upstream wrote ${held} of ${TOTAL} bytes to a client not reading`,
      );
    });
  });
}
