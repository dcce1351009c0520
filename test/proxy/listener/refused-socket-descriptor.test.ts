/**
 * Regression (found by the fuzzing suite): a request node's HTTP/1.1 parser refuses (a
 * bare-LF head on HTTP/1.0, a malformed Expect with a body) was answered 400 on a paused,
 * half-closed socket that never read the client's FIN or RST again, so every such
 * connection kept its descriptor in the sidecar for good. On a live `ferry proxy` process:
 * after each input and a client reset, the process holds no socket whose connection is gone.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { mesh, service } from '../../support/mesh.js';
import { startControlPlane } from '../../support/mesh-harness.js';
import { describeFds } from '../../support/process-usage.js';
import { type SidecarProcess, startSidecarProcess } from '../../support/sidecar-process.js';
import { waitFor } from '../../support/wait-for.js';

const INPUTS = [
  'POST /x HTTP/1.0\r\n\nHost: api:8080\r\nContent-Length: 2\r\n\r\nhi',
  'POST /x HTTP/1.1\r\nHost: api:8080\r\nExpect: 10ntinue\r\nContelt-Length: 5\r\n\r\nhello',
  'GET /x HTTP/1.0\r\nHost: api:8080\r: api:8080\r\n\r\n',
];

/** Sockets the process holds whose TCP connection no longer exists. */
const orphans = (pid: number) => describeFds(pid)['socket in no TCP table'] ?? 0;

describe('regression: refused requests on node’s HTTP/1.1 path leave no descriptor behind', function () {
  this.timeout(30_000);
  let app: HttpUpstream;
  let cp: ControlPlane;
  let proxy: SidecarProcess;

  before(async () => {
    app = await startHttpUpstream('api');
    cp = await startControlPlane(mesh(service('api', 8080, 'http', [app.port])));
    proxy = await startSidecarProcess(['--xds', `127.0.0.1:${cp.xdsPort}`, '--service', 'web']);
  });

  after(async () => {
    await proxy?.kill();
    await cp?.close();
    await app?.close();
  });

  for (const input of INPUTS) {
    it(`answers ${JSON.stringify(input.slice(0, 40))}… and lets the socket go when the client resets`, async () => {
      const pid = proxy.child.pid!;
      const before = orphans(pid);
      const s = net.connect(proxy.ports.outbound, '127.0.0.1');
      s.on('error', () => undefined);
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      await new Promise((r) => s.once('connect', r));
      s.write(input);
      await waitFor('an answer', () => got.includes('\r\n\r\n'));
      s.resetAndDestroy();
      assert.match(got, /^HTTP\/1\.1 (200|400|417) /);
      await waitFor(
        `the sidecar to close its side (orphaned sockets ${orphans(pid)}, before ${before})`,
        () => orphans(pid) <= before,
        5000,
      );
    });
  }
});
