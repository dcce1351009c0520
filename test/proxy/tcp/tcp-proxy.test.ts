/**
 * The TCP proxy's idle timeout over real sockets: where the configuration sets none, the
 * sidecar's default (--tcp-idle-timeout) closes a connection with no bytes either way, both
 * sides, counted; bytes flowing keep a connection open.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { proxyTcpTo } from '../../../src/proxy/tcp/index.js';
import { waitFor } from '../../support/wait-for.js';

describe('TCP proxy: idle timeout', () => {
  let app: net.Server;
  let appSockets: net.Socket[];
  let proxy: net.Server;
  let idled: number;

  beforeEach(async () => {
    appSockets = [];
    idled = 0;
    app = net.createServer((s) => {
      appSockets.push(s);
      s.on('error', () => undefined);
      s.on('data', (d) => s.write(d));
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const port = (app.address() as AddressInfo).port;
    proxy = net.createServer((s) =>
      proxyTcpTo(
        s,
        undefined,
        { name: 'app', connectTimeoutMs: 1000 },
        { address: '127.0.0.1', port, key: `127.0.0.1:${port}` },
        undefined,
        undefined, // not set in the configuration
        { defaultIdleTimeoutMs: 150, idleTimedOut: () => idled++ },
      ),
    );
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });

  afterEach(() => {
    proxy.close();
    for (const s of appSockets) s.destroy();
    app.close();
  });

  function open(): Promise<{ socket: net.Socket; closed: () => boolean }> {
    return new Promise((resolve) => {
      const socket = net.connect((proxy.address() as AddressInfo).port, '127.0.0.1');
      let closed = false;
      socket.on('error', () => undefined);
      socket.on('close', () => (closed = true));
      socket.once('connect', () => resolve({ socket, closed: () => closed }));
    });
  }

  it("closes an idle connection at the sidecar's default, both sides, counted", async () => {
    const c = await open();
    await waitFor('the app connection', () => appSockets.length === 1);
    await waitFor('the idle connection closed', c.closed);
    await waitFor(
      'the app side closed',
      () => appSockets[0].destroyed || appSockets[0].readableEnded,
    );
    assert.equal(idled, 1);
  });

  it('keeps a connection whose bytes keep flowing, past many timeouts', async () => {
    const c = await open();
    const other = await open();
    let echoed = 0;
    c.socket.on('data', (d: Buffer) => (echoed += d.length));
    const tick = setInterval(() => c.socket.write('x'), 20);
    try {
      // The quiet one is closed by the timeout while the busy one goes on.
      await waitFor('the quiet connection closed', other.closed);
      const before = echoed;
      await waitFor('more bytes through the busy one', () => echoed > before + 5);
      assert.equal(c.closed(), false);
      assert.equal(idled, 1);
    } finally {
      clearInterval(tick);
      c.socket.destroy();
    }
  });
});
