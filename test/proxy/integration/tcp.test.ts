/**
 * TCP through two sidecars, over mTLS: app client -> sidecar A (a local TCP forward port)
 * -> sidecar B (inbound, tcp service) -> TCP app. 100 MiB each way arrives intact (sha256),
 * a half-close is passed on (the app answers after the client has finished sending), a
 * server-first protocol works without the client speaking first, and Istio's TCP metrics
 * count the bytes on both sides.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { ManualCertificates, TestCa } from '../../support/test-ca.js';

const MiB = 1024 * 1024;

describe('integration: TCP through two sidecars (mTLS)', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  let greeterSidecar: Sidecar;
  let app: net.Server;
  let greeter: net.Server;

  before(async () => {
    const ca = await TestCa.create();
    // The app: hashes what it receives; when the client half-closes, answers with the hash
    // and then the same number of bytes of its own, and closes.
    app = net.createServer({ allowHalfOpen: true }, (s) => {
      const hash = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        hash.update(d);
        n += d.length;
      });
      s.on('end', () => {
        s.write(`${hash.digest('hex')} ${n}\n`);
        const block = Buffer.alloc(MiB, 7);
        let left = Math.ceil(n / MiB);
        const pump = () => {
          while (left > 0) {
            left--;
            if (!s.write(block)) {
              s.once('drain', pump);
              return;
            }
          }
          s.end();
        };
        pump();
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    greeter = net.createServer((s) => {
      s.write('220 ferry greeter ready\r\n');
      s.on('data', (d) => s.write(`250 ${d}`));
    });
    await new Promise<void>((r) => greeter.listen(0, '127.0.0.1', r));
    cp = await startControlPlane(
      mesh(service('db', 5432, 'tcp', []), service('smtp', 25, 'tcp', [])),
    );
    b = await startSidecar(cp.xdsPort, {
      service: 'db',
      serviceAccount: 'db',
      appPort: (app.address() as AddressInfo).port,
      certificates: new ManualCertificates(
        await ca.issue('spiffe://cluster.local/ns/default/sa/db'),
      ),
    });
    greeterSidecar = await startSidecar(cp.xdsPort, {
      service: 'smtp',
      serviceAccount: 'smtp',
      appPort: (greeter.address() as AddressInfo).port,
      certificates: new ManualCertificates(
        await ca.issue('spiffe://cluster.local/ns/default/sa/smtp'),
      ),
    });
    a = await startSidecar(cp.xdsPort, {
      service: 'client',
      serviceAccount: 'client',
      certificates: new ManualCertificates(
        await ca.issue('spiffe://cluster.local/ns/default/sa/client'),
      ),
      tcpForwards: [
        { port: 0, target: 'db:5432' },
        { port: 0, target: 'smtp:25' },
      ],
    });
    await waitForHosts(a, clusterName('db', 5432), 1);
    await waitForHosts(a, clusterName('smtp', 25), 1);
  });

  after(async () => {
    await Promise.all([a?.stop(0), b?.stop(0), greeterSidecar?.stop(0)]);
    await cp?.close();
    app?.close();
    greeter?.close();
  });

  it('100 MiB up, a half-close, the hash and 100 MiB down, all intact', async () => {
    const size = 100 * MiB;
    const chunk = randomBytes(MiB);
    const sent = createHash('sha256');
    const c = net.connect(a.tcpForwardPorts[0], '127.0.0.1');
    c.setNoDelay(true);
    let received = Buffer.alloc(0);
    let downBytes = 0;
    let headerDone = false;
    const t0 = performance.now();
    const done = new Promise<void>((resolve, reject) => {
      c.on('data', (d: Buffer) => {
        if (!headerDone) {
          received = Buffer.concat([received, d]);
          const nl = received.indexOf(10);
          if (nl < 0) return;
          headerDone = true;
          downBytes += received.length - nl - 1;
          received = received.subarray(0, nl);
        } else downBytes += d.length;
      });
      c.on('end', () => resolve());
      c.on('error', reject);
    });
    for (let i = 0; i < size / MiB; i++) {
      sent.update(chunk);
      if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
    }
    c.end();
    await done;
    const s = (performance.now() - t0) / 1000;
    console.log(
      `      200 MiB through two sidecars over mTLS in ${s.toFixed(1)} s (${((2 * size) / MiB / s).toFixed(0)} MiB/s); app hash ${received.toString().slice(0, 16)}…`,
    );
    assert.equal(received.toString(), `${sent.digest('hex')} ${size}`);
    assert.equal(downBytes, size);
  });

  it('a server-first protocol: the greeting arrives without the client sending anything', async () => {
    const c = net.connect(a.tcpForwardPorts[1], '127.0.0.1');
    const greeting = await new Promise<string>((resolve, reject) => {
      c.once('data', (d) => resolve(String(d)));
      c.once('error', reject);
    });
    assert.equal(greeting, '220 ferry greeter ready\r\n');
    const reply = new Promise<string>((resolve) => c.once('data', (d) => resolve(String(d))));
    c.write('HELO mesh\r\n');
    assert.equal(await reply, '250 HELO mesh\r\n');
    c.destroy();
  });

  it("Istio's TCP metrics count the connections and bytes on both sides", async () => {
    const text = async (s: Sidecar) =>
      (await fetch(`http://127.0.0.1:${s.ports.metrics}/stats/prometheus`)).text();
    const value = (t: string, metric: string, match: string) =>
      t
        .split('\n')
        .filter((l) => l.startsWith(`${metric}{`) && l.includes(match))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    const source = await text(a);
    const dest = await text(b);
    const db = 'destination_service="db.default.svc.cluster.local"';
    console.log(
      `      source: received ${value(source, 'istio_tcp_received_bytes_total', db)} sent ${value(source, 'istio_tcp_sent_bytes_total', db)}; destination (mutual_tls): received ${value(dest, 'istio_tcp_received_bytes_total', 'mutual_tls')}`,
    );
    assert.ok(value(source, 'istio_tcp_received_bytes_total', db) >= 100 * MiB);
    assert.ok(value(source, 'istio_tcp_sent_bytes_total', db) >= 100 * MiB);
    assert.ok(
      value(dest, 'istio_tcp_received_bytes_total', 'connection_security_policy="mutual_tls"') >=
        100 * MiB,
    );
    assert.equal(value(source, 'istio_tcp_connections_opened_total', db), 1);
    assert.equal(value(source, 'istio_tcp_connections_closed_total', db), 1);
  });
});
