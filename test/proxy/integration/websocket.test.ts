/**
 * WebSocket through two sidecars: client -> sidecar A (outbound) -> sidecar B (inbound) ->
 * a WebSocket echo app. The upgrade is routed like any request; afterwards frames flow both
 * ways untouched, many messages and large ones, and a close on either side ends the tunnel.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

function open(port: number, host: string, path = '/chat'): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host } });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(
        new Error(`unexpected response ${res.statusCode} ${res.headers['x-ferry-response-flags']}`),
      ),
    );
  });
}

function nextMessage(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
}

describe('integration: WebSocket through two sidecars', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  let app: WebSocketServer;
  const paths: string[] = [];

  before(async () => {
    app = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => app.once('listening', () => r()));
    app.on('connection', (ws, req) => {
      paths.push(req.url ?? '');
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    const appPort = (app.address() as AddressInfo).port;
    cp = await startControlPlane(mesh(service('chat', 8080, 'http', [])));
    b = await startSidecar(cp.xdsPort, { service: 'chat', appPort });
    a = await startSidecar(cp.xdsPort, { service: 'web' });
    await waitForHosts(a, clusterName('chat', 8080), 1);
  });

  after(async () => {
    await Promise.all([a?.stop(0), b?.stop(0)]);
    await cp?.close();
    await new Promise<void>((r) => app.close(() => r()));
  });

  it('echoes 200 text messages and a 4 MiB binary one, in order and intact', async () => {
    const ws = await open(a.ports.outbound, 'chat:8080', '/chat?room=1');
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        got.push(String(data));
        if (got.length === 200) resolve();
      });
    });
    for (let i = 0; i < 200; i++) ws.send(`message ${i}`);
    await all;
    ws.removeAllListeners('message');
    assert.deepEqual(
      got,
      Array.from({ length: 200 }, (_, i) => `message ${i}`),
    );
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    const echoed = nextMessage(ws);
    ws.send(big);
    const back = await echoed;
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    console.log(
      `      200 messages in order; 4 MiB binary echoed, sha256 ${sha(back).slice(0, 16)}…`,
    );
    assert.equal(sha(back), sha(big));
    assert.equal(paths.at(-1), '/chat?room=1');
    ws.close();
  });

  it('a close from the client ends the tunnel on both sidecars; they keep serving', async () => {
    const ws = await open(a.ports.outbound, 'chat:8080');
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.close(1000, 'bye');
    assert.equal(await closed, 1000);
    await waitFor('the app to see no client', () => app.clients.size === 0);
    const again = await open(a.ports.outbound, 'chat:8080');
    const echoed = nextMessage(again);
    again.send('still here');
    assert.equal(String(await echoed), 'still here');
    again.close();
  });

  it('an upgrade with no route gets 404 NR, plain requests on the same port still work', async () => {
    await assert.rejects(open(a.ports.outbound, 'nowhere:1'), /unexpected response 404 NR/);
    const r = await send(a.ports.outbound, { host: 'nowhere:1' });
    assert.equal(r.status, 404);
  });
});
