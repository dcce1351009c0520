/**
 * Opaque ports inbound: a sidecar whose service the mesh file does not declare, in front of
 * a server-first app on one of its opaque ports, announces the service as tcp, so that its
 * inbound listener proxies connections without waiting for HTTP and the app's greeting
 * reaches the client. Without it the service would be HTTP and the greeting would never
 * arrive.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../src/controlplane/index.js';
import type { Sidecar } from '../../src/proxy/index.js';
import { clusterName, mesh } from '../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../support/mesh-harness.js';

describe('Sidecar: opaque ports inbound', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  let server: Sidecar;
  let app: net.Server;
  let port: number;

  before(async () => {
    // A server-first app (as PostgreSQL or SMTP): it greets, then echoes.
    app = net.createServer((s) => {
      s.write('db hello\n');
      s.pipe(s);
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    port = (app.address() as AddressInfo).port;
    cp = await startControlPlane(mesh());
    server = await startSidecar(cp.xdsPort, {
      service: 'db',
      appPort: port,
      opaquePorts: [port],
    });
    client = await startSidecar(cp.xdsPort, {
      service: 'client',
      tcpForwards: [{ port: 0, target: `db:${port}` }],
    });
    await waitForHosts(client, clusterName('db', port), 1);
  });

  after(async () => {
    await client?.stop(0);
    await server?.stop(0);
    await cp?.close();
    app?.close();
  });

  it('announces the undeclared service as tcp on an opaque app port', () => {
    const db = cp.registry.view().services.find((s) => s.name === 'db');
    assert.deepEqual(
      db?.ports.map((p) => [p.port, p.protocol]),
      [[port, 'tcp']],
    );
    assert.ok(server.config?.inboundTcp, 'the inbound listener proxies TCP');
  });

  it("the app's greeting reaches a client that waits for it, and the exchange goes on", async () => {
    const socket = net.connect(client.tcpForwardPorts[0]!, '127.0.0.1');
    socket.setEncoding('utf8');
    const greeting = await new Promise<string>((resolve) => socket.once('data', resolve));
    assert.equal(greeting, 'db hello\n');
    socket.write('ping');
    const echoed = await new Promise<string>((resolve) => socket.once('data', resolve));
    assert.equal(echoed, 'ping');
    socket.destroy();
  });
});
