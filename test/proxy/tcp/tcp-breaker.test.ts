/**
 * TCP takes a connection slot of its cluster's circuit breakers, as Envoy's tcp_proxy does
 * (max_connections): over a live sidecar's TCP forward, a connection over the limit is
 * closed at once without reaching the app, counted as an overflow; the slot comes back when
 * the connection that held it closes.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

interface Conn {
  readonly socket: net.Socket;
  received(): string;
  closed(): boolean;
}

function open(port: number): Promise<Conn> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    socket.once('connect', () => resolve({ socket, received: () => text, closed: () => closed }));
  });
}

describe('TCP proxy: max_connections', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  let app: net.Server;
  let accepted = 0;
  const cluster = clusterName('db', 5432);

  before(async () => {
    app = net.createServer((s) => {
      accepted++;
      s.on('error', () => undefined);
      s.on('data', (d) => s.write(`echo ${d}`));
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    cp = await startControlPlane(
      mesh(
        service('db', 5432, 'tcp', [(app.address() as AddressInfo).port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            circuitBreaker: { maxConnections: 1 },
          },
        }),
      ),
    );
    client = await startSidecar(cp.xdsPort, {
      service: 'client',
      tcpForwards: [{ port: 0, target: 'db:5432' }],
    });
    await waitForHosts(client, cluster, 1);
  });

  after(async () => {
    await client?.stop(0);
    await cp?.close();
    app?.close();
  });

  const breakers = () =>
    client.config!.clusters.get(cluster)!.breakers.toJSON() as {
      active_connections: number;
      connection_overflows: number;
    };

  it('regression: a connection over the limit is closed at once and counted; the slot comes back', async () => {
    const port = client.tcpForwardPorts[0]!;
    const overflowsBefore = client.stats.connectionOverflows;
    const first = await open(port);
    first.socket.write('one');
    await waitFor('the first echoed', () => first.received() === 'echo one');
    const acceptedBefore = accepted;
    const second = await open(port);
    second.socket.write('two');
    await waitFor('the second closed', second.closed);
    assert.equal(second.received(), '');
    assert.equal(accepted, acceptedBefore, 'the second reached the app');
    assert.equal(client.stats.connectionOverflows, overflowsBefore + 1);
    assert.deepEqual(breakers(), { ...breakers(), active_connections: 1, connection_overflows: 1 });
    first.socket.end();
    await waitFor('the slot given back', () => breakers().active_connections === 0);
    const third = await open(port);
    third.socket.write('three');
    await waitFor('the third echoed', () => third.received() === 'echo three');
    third.socket.destroy();
  });
});
