/**
 * The debug endpoints that reveal the mesh answer loopback clients, or others with the
 * operator's bearer token; the rest of the HTTP port (health, metrics, dashboard) is open.
 * A real control plane on 0.0.0.0, reached from a non-loopback address of this machine.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { ControlPlane, isLoopback } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { send } from '../support/http-client.js';
import { mesh, service } from '../support/mesh.js';

/** An IPv4 address of this machine that is not loopback, if it has one. */
function otherAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

function get(address: string, port: number, path: string, token?: string) {
  return fetch(`http://${address}:${port}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

const PROTECTED = ['/debug/syncz', '/debug/registry', '/debug/config_dump'];
const TOKEN = 'a-debug-token-for-tests-0123456789';

describe('control plane debug endpoints: loopback or a bearer token', () => {
  it('tells loopback addresses apart', () => {
    for (const a of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1'])
      assert.ok(isLoopback(a), a);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '192.168.1.1', 'fe80::1', '', undefined])
      assert.equal(isLoopback(a), false, String(a));
  });

  for (const withToken of [false, true]) {
    it(`from another address: ${withToken ? '401 without the token, 200 with it' : '403, with no token configured'}`, async function () {
      const address = otherAddress();
      if (!address) this.skip();
      const cp = await ControlPlane.start({
        config: mesh(service('web', 8080, 'http', [9080])),
        host: '0.0.0.0',
        xdsPort: 0,
        httpPort: 0,
        warmupMs: 0,
        ...(withToken ? { debugToken: TOKEN } : {}),
        log: silentLogger(),
      });
      try {
        for (const path of PROTECTED) {
          const loop = await send(cp.httpPort, { path });
          assert.equal(loop.status, 200, `${path} on loopback`);
          const remote = await get(address as string, cp.httpPort, path);
          assert.equal(remote.status, withToken ? 401 : 403, `${path} from ${address}`);
          assert.doesNotMatch(remote.body, /web\.default/, 'reveals nothing');
          if (withToken) {
            assert.equal((await get(address as string, cp.httpPort, path, TOKEN)).status, 200);
            assert.equal(
              (await get(address as string, cp.httpPort, path, `${TOKEN}x`)).status,
              401,
            );
          }
        }
        assert.equal((await get(address as string, cp.httpPort, '/healthz')).status, 200);
        assert.equal((await get(address as string, cp.httpPort, '/metrics')).status, 200);
      } finally {
        await cp.close();
      }
    });
  }
});
