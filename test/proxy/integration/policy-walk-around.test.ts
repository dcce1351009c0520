/**
 * Issue 12, "policies can be walked around": a real lenient app (Python's http.server)
 * behind a sidecar, with /admin refused twice over: an outbound route answers it 403 (the
 * calling sidecar), and an inbound authorization rule DENIES it (the app's own sidecar).
 * Two walk-arounds used to reach the app anyway: an upgrade the app does not accept (the
 * sidecar joined the sockets, and the next request went through raw), and control characters
 * in the request-target (the app split one request into two). Asserted on the app's own
 * record of request lines: it never reads one for /admin. Both HTTP/1.1 paths.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { AuthorizationRule } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { type PythonApp, startPythonApp } from '../../support/python-app.js';
import { RawClient } from '../../support/raw-http.js';

const DENY_ADMIN: AuthorizationRule = {
  name: 'no-admin',
  action: 'DENY',
  from: [],
  to: [{ methods: [], paths: [{ prefix: '/admin' }], ports: [] }],
};

/**
 * An app that speaks h2c: it answers an `Upgrade: h2c` with 101 (and then reads whatever
 * comes as raw bytes, recorded), anything else with 200. What it received is kept as text.
 */
async function h2cApp(): Promise<{ server: net.Server; received: () => string }> {
  let received = '';
  const server = net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      const switched = received.includes('upgrade: h2c') || /upgrade: h2c/i.test(text);
      received += text;
      if (switched)
        s.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: h2c\r\n\r\n');
      else s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, received: () => received };
}

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: nothing walks around a policy to a lenient app (HTTP/1.1 ${http1} path)`, function () {
    this.timeout(30_000);
    let app: PythonApp;
    let cp: ControlPlane;
    let client: Sidecar;
    let guard: Sidecar;
    let h2c: Awaited<ReturnType<typeof h2cApp>>;

    before(async () => {
      app = await startPythonApp();
      h2c = await h2cApp();
      cp = await startControlPlane(
        mesh(
          // Outbound: the calling sidecar's route answers /admin 403 itself.
          service('app', 8080, 'http', [app.port], {
            routes: [
              {
                name: 'admin-refused',
                match: [{ path: { prefix: '/admin' }, headers: [], queryParams: [] }],
                backends: [],
                fault: { abort: { httpStatus: 403, percentage: 100 }, headers: [] },
              },
            ],
          }),
          service('h2capp', 8080, 'http', [(h2c.server.address() as AddressInfo).port]),
          // Inbound: the app's own sidecar denies /admin.
          service('guarded', 8080, 'http', [], { authorization: [DENY_ADMIN] }),
        ),
      );
      client = await startSidecar(cp.xdsPort, { service: 'web', http1 });
      guard = await startSidecar(cp.xdsPort, { service: 'guarded', appPort: app.port, http1 });
      await waitForHosts(client, clusterName('app', 8080), 1);
    });

    after(async () => {
      await Promise.all([client?.stop(0), guard?.stop(0)]);
      await cp?.close();
      await app?.stop();
      h2c?.server.close();
    });

    it('an h2c upgrade is dropped: the request goes up as an ordinary one, never switched', async () => {
      await waitForHosts(client, clusterName('h2capp', 8080), 1);
      const c = await RawClient.connect(client.ports.outbound);
      c.write(
        'GET /public HTTP/1.1\r\nhost: h2capp:8080\r\nconnection: upgrade, http2-settings\r\n' +
          'upgrade: h2c\r\nhttp2-settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n' +
          'GET /admin HTTP/1.1\r\nhost: h2capp:8080\r\n\r\n',
      );
      const r = await c.response();
      assert.deepEqual([r.status, r.body, r.headers.connection], [200, 'ok', 'close']);
      assert.equal(await c.closedWithin(5000), true, 'the connection closes');
      c.destroy();
      assert.match(h2c.received(), /^GET \/public HTTP\/1\.1\r\n/);
      assert.doesNotMatch(h2c.received(), /upgrade|http2-settings|\/admin/i);
    });

    const sides = [
      { side: 'outbound route 403', port: () => client.ports.outbound, host: 'app:8080' },
      { side: 'inbound DENY rule', port: () => guard.ports.inbound, host: 'guarded:8080' },
    ];

    for (const { side, port, host } of sides) {
      it(`${side}: /admin itself is refused and /public served (the policy is in force)`, async () => {
        const admin = await send(port(), { host, path: '/admin' });
        assert.equal(admin.status, 403);
        const pub = await send(port(), { host, path: '/public' });
        assert.equal(pub.status, 200);
        assert.equal(pub.body, 'app:/public');
        assert.deepEqual(
          app.lines().filter((l) => l.includes('/admin')),
          [],
        );
      });

      it(`${side}: an upgrade the app answers 200 opens no tunnel; the next request never reaches the app`, async () => {
        const c = await RawClient.connect(port());
        c.write(
          `GET /public HTTP/1.1\r\nhost: ${host}\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n` +
            `GET /admin HTTP/1.1\r\nhost: ${host}\r\n\r\n`,
        );
        const r = await c.response();
        // The app did not switch: an ordinary response, and the connection closes after it.
        assert.equal(r.status, 200);
        assert.equal(r.body, 'app:/public');
        assert.equal(r.headers.connection, 'close');
        c.socket.write(`GET /admin/again HTTP/1.1\r\nhost: ${host}\r\n\r\n`, () => undefined);
        assert.equal(await c.closedWithin(5000), true, 'the connection closes');
        c.destroy();
        assert.deepEqual(
          app.lines().filter((l) => l.includes('/admin')),
          [],
        );
      });

      it(`${side}: /admin spelt with dot segments or percent-escapes meets the same policy (403)`, async () => {
        for (const path of ['/public/../admin', '/%61dmin', '/./admin/x', '/public/%2e%2e/admin']) {
          const c = await RawClient.connect(port());
          c.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
          const r = await c.response();
          c.destroy();
          assert.equal(r.status, 403, path);
        }
        const ok = await send(port(), { host, path: '/public/x/../%7Epage' });
        assert.deepEqual([ok.status, ok.body], [200, 'app:/public/~page']);
        assert.deepEqual(
          app.lines().filter((l) => /admin|%61|\.\./i.test(l)),
          [],
        );
      });

      it(`${side}: control characters in the request-target are refused (400), never split by the app`, async () => {
        const attacks = [
          `GET /public\tHTTP/1.1\n\nGET\t/admin HTTP/1.1\r\nhost: ${host}\r\n\r\n`,
          `GET /public\rGET /admin HTTP/1.1\r\nhost: ${host}\r\n\r\n`,
          `GET /public\x00/admin HTTP/1.1\r\nhost: ${host}\r\n\r\n`,
          `GET /public\x7f/admin HTTP/1.1\r\nhost: ${host}\r\n\r\n`,
        ];
        for (const bytes of attacks) {
          const c = await RawClient.connect(port());
          c.write(bytes);
          const r = await c.response();
          assert.equal(r.status, 400, JSON.stringify(bytes));
          c.destroy();
        }
        assert.deepEqual(
          app.lines().filter((l) => l.includes('/admin')),
          [],
        );
      });
    }
  });
}
