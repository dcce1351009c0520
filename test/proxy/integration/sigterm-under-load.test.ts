/**
 * SIGTERM of a client sidecar, run as a real process through the CLI (`ferry proxy
 * --drain 5000`, with the fast HTTP/1.1 path and with node's), while 20 keep-alive clients
 * send through it back to back. The upstream answers three requests in four after 3 ms and
 * the fourth after 150 ms: at the signal most clients have a request inside the sidecar,
 * and connections keep going idle for a moment between requests, where a drain can race
 * with the client's next request.
 *
 * What counts as accepted: a request the upstream received (the sidecar took it and sent it
 * on). Asserted:
 *  - requests were in flight at the signal (the upstream was holding at least 10);
 *  - every accepted request completed at its client with 200 and its own body: none lost,
 *    none cut, none answered with an error status by the draining sidecar;
 *  - every request that failed failed at the connection level (refused, or reset before any
 *    response) and was never accepted: a client may retry it safely;
 *  - the process exits 0, after its listeners have drained.
 * New connections after the drain starts may be refused; they are counted, not asserted.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { mesh, service } from '../../support/mesh.js';
import { startControlPlane } from '../../support/mesh-harness.js';
import { type SidecarProcess, startSidecarProcess } from '../../support/sidecar-process.js';
import { sleep, waitFor } from '../../support/wait-for.js';

interface Outcome {
  id: string;
  start: number;
  /** `200 <body>`, another status, or `error <code>`. */
  result: string;
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: SIGTERM of a client sidecar process under load (HTTP/1.1 ${http1} path)`, function () {
    this.timeout(30_000);
    let cp: ControlPlane;
    let upstream: HttpUpstream;
    let proxy: SidecarProcess | undefined;

    before(async () => {
      upstream = await startHttpUpstream('slow', (seen, _req, res) => {
        setTimeout(() => res.end(`ok:${seen.id}`), seen.n % 4 === 0 ? 150 : 3);
        return true;
      });
      cp = await startControlPlane(mesh(service('slow', 8080, 'http', [upstream.port])));
    });

    after(async () => {
      await proxy?.kill();
      await cp?.close();
      await upstream?.close();
    });

    it('requests in flight at SIGTERM all complete; the only failures are connections never accepted; exit 0', async () => {
      proxy = await startSidecarProcess([
        '--xds',
        `127.0.0.1:${cp.xdsPort}`,
        '--service',
        'client',
        '--drain',
        '5000',
        '--http1',
        http1,
      ]);
      const sidecar = proxy;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
      const outcomes: Outcome[] = [];
      let seq = 0;
      let signalled = false;
      const t0 = performance.now();
      const worker = async () => {
        // Until 2.5 s have passed, or until the sidecar refuses a new connection after the signal.
        while (performance.now() - t0 < 2500) {
          const id = `q${++seq}`;
          const start = performance.now();
          let result: string;
          try {
            const r = await send(sidecar.ports.outbound, {
              host: 'slow:8080',
              agent,
              headers: { 'x-request-id': id },
            });
            result = `${r.status} ${r.body}`;
          } catch (err) {
            const e = err as NodeJS.ErrnoException;
            // node reports a socket closed before any response as "socket hang up" (ECONNRESET).
            result = `error ${e.code ?? e.message}`;
          }
          outcomes.push({ id, start, result });
          if (signalled && result === 'error ECONNREFUSED') return;
        }
      };
      const workers = Array.from({ length: 20 }, worker);
      await sleep(600);
      await waitFor(
        '10 requests in flight at the upstream',
        () => upstream.inFlight >= 10,
        5000,
        1,
      );
      const inFlightAtSignal = upstream.inFlight;
      const seenAtSignal = upstream.seen.length;
      const tSignal = performance.now();
      const exitAt = proxy.exited.then((code) => ({ code, ms: performance.now() - tSignal }));
      sidecar.child.kill('SIGTERM');
      signalled = true;
      await Promise.all(workers);
      agent.destroy();
      const exit = await exitAt;

      const accepted = new Set(upstream.seen.map((s) => s.id));
      const byId = new Map(outcomes.map((o) => [o.id, o]));
      const lost = [...accepted].filter((id) => byId.get(id)?.result !== `200 ok:${id}`);
      const failed = outcomes.filter((o) => !o.result.startsWith('200 '));
      const afterSignal = outcomes.filter((o) => o.start > tSignal);
      console.log(
        `      in flight at SIGTERM: ${inFlightAtSignal}; accepted ${accepted.size}, of which completed 200: ${accepted.size - lost.length}; accepted after the signal: ${upstream.seen.length - seenAtSignal}`,
      );
      console.log(
        `      not accepted: ${JSON.stringify(tally(failed.map((o) => o.result)))}; started after the signal: ${afterSignal.length}; exit ${exit.code} ${exit.ms.toFixed(0)} ms after SIGTERM`,
      );
      assert.ok(inFlightAtSignal >= 10, `only ${inFlightAtSignal} in flight at the signal`);
      assert.deepEqual(
        lost.map((id) => `${id}: ${byId.get(id)?.result}`),
        [],
        'accepted requests that did not complete',
      );
      for (const o of failed) {
        assert.ok(
          CONNECTION_ERRORS.has(o.result.slice('error '.length)),
          `${o.id} failed with "${o.result}", not a connection error`,
        );
        assert.ok(!accepted.has(o.id), `${o.id} failed at the client but the upstream got it`);
      }
      assert.equal(exit.code, 0);
      proxy = undefined;
    });
  });
}
