/**
 * TCP goes through the concrete layer as requests do: over a live sidecar's TCP forward, a
 * cluster with a dead endpoint and a live one, the dead one's connect failures reach outlier
 * detection and eject it; every connection after that reaches the live one.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { closedPort } from '../../support/http-upstream.js';
import { clusterName, endpoint, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';

/** One line through the forward: the echo, or '' when the connection closed without one. */
function roundTrip(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => c.write('ping\n'));
    let text = '';
    c.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.endsWith('\n')) c.end();
    });
    c.on('error', () => undefined);
    c.on('close', () => resolve(text));
  });
}

describe('TCP proxy: connect failures and outlier detection', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  let app: net.Server;
  let deadPort: number;
  const cluster = clusterName('db', 5432);

  before(async () => {
    app = net.createServer((s) => s.on('data', (d) => s.write(`echo ${d}`)));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    deadPort = await closedPort();
    const appPort = (app.address() as AddressInfo).port;
    cp = await startControlPlane(
      mesh(
        service('db', 5432, 'tcp', [], {
          endpoints: [endpoint('127.0.0.1', deadPort, 5432), endpoint('127.0.0.1', appPort, 5432)],
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            outlierDetection: {
              consecutiveGatewayErrors: 2,
              intervalMs: 60_000,
              baseEjectionTimeMs: 60_000,
              maxEjectionPercent: 50,
            },
          },
        }),
      ),
    );
    client = await startSidecar(cp.xdsPort, {
      service: 'client',
      tcpForwards: [{ port: 0, target: 'db:5432' }],
    });
    await waitForHosts(client, cluster, 2);
  });

  after(async () => {
    await client?.stop(0);
    await cp?.close();
    app?.close();
  });

  it('regression: the dead endpoint is ejected after its connect failures, then every connection works', async () => {
    const hosts = client.config!.clusters.get(cluster)!.hostSet.hosts;
    const dead = hosts.find((h) => h.port === deadPort)!;
    const seen: string[] = [];
    for (let i = 0; i < 8 && !dead.ejected; i++) {
      seen.push(JSON.stringify(await roundTrip(client.tcpForwardPorts[0]!)));
    }
    assert.ok(dead.ejected, `not ejected after ${seen.join(', ')}`);
    assert.ok(seen.includes('""'), 'some connection went to the dead endpoint');
    for (let i = 0; i < 4; i++)
      assert.equal(await roundTrip(client.tcpForwardPorts[0]!), 'echo ping\n');
    for (const h of hosts) assert.equal(h.active, 0, `${h.key} active`);
  });
});
