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

for (const http1 of ['fast', 'node'] as const) {
  describe(`integration: nothing walks around a policy to a lenient app (HTTP/1.1 ${http1} path)`, function () {
    this.timeout(30_000);
    let app: PythonApp;
    let cp: ControlPlane;
    let client: Sidecar;
    let guard: Sidecar;

    before(async () => {
      app = await startPythonApp();
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
