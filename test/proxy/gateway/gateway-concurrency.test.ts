/**
 * `ferry gateway --concurrency 2`: two worker processes share the listeners, one xDS stream
 * in the primary feeds them both, one certificate rotation reaches both, the primary's
 * metrics and /clusters are both workers' summed, and SIGTERM drains both (a request in
 * flight finishes).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import https from 'node:https';
import type tls from 'node:tls';
import { types } from '../../../src/xds/index.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { OpensslCa, type ServerCert } from '../../support/server-certs.js';
import { waitFor } from '../../support/wait-for.js';
import {
  FuzzAdsServer,
  freePort,
  type GatewayProcess,
  hcm,
  listener,
  routes,
  secret,
  startGateway,
  staticCluster,
  tlsSocket,
  waitReady,
} from './gateway-harness.js';

interface Dump {
  workers: Array<{ id: number; pid: number; applied: number }>;
  version: number;
}

async function dump(g: GatewayProcess): Promise<Dump> {
  return (await (await fetch(`http://127.0.0.1:${g.adminPort}/config_dump`)).json()) as Dump;
}

/** istio_requests_total with response code 200, summed over its series. */
async function served(g: GatewayProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${g.metricsPort}/stats/prometheus`)).text();
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('istio_requests_total{') && line.includes('response_code="200"'))
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

describe('ferry gateway --concurrency 2', function () {
  this.timeout(60_000);
  let ca: OpensslCa;
  let cert: ServerCert;
  let ads: FuzzAdsServer;
  let app: HttpUpstream;
  let gateway: GatewayProcess;
  let httpPort = 0;
  let httpsPort = 0;
  const nodes = new Set<string>();

  before(async () => {
    ca = OpensslCa.create();
    cert = ca.issue('shop.example.test');
    // /slow answers after the test says so: a request in flight during the drain.
    app = await startHttpUpstream('app', (s, _req, res) => {
      if (s.url !== '/slow') return false;
      setTimeout(() => res.end('slow done'), 800);
      return true;
    });
    httpPort = await freePort();
    httpsPort = await freePort();
    ads = new FuzzAdsServer();
    ads.onNode = (node) => nodes.add(node.id ?? '');
    await ads.start();
    ads.set(types.CLUSTER, [staticCluster('app', app.port)]);
    ads.set(types.LISTENER, [
      listener(httpPort, [{ filters: [hcm(`gateway~${httpPort}`)] }]),
      listener(
        httpsPort,
        [
          {
            filter_chain_match: { server_names: ['shop.example.test'] },
            transport_socket: tlsSocket('edge/shop'),
            filters: [hcm(`gateway~${httpsPort}`)],
          },
        ],
        true,
      ),
    ]);
    ads.set(types.ROUTE, [
      routes(`gateway~${httpPort}`, { '*': 'app' }),
      routes(`gateway~${httpsPort}`, { 'shop.example.test': 'app' }),
    ]);
    ads.set(types.ENDPOINT, []);
    ads.set(types.SECRET, [secret('edge/shop', cert)]);
    gateway = await startGateway(ads, ['--concurrency', '2']);
    await waitReady(gateway);
  });

  after(async () => {
    gateway?.kill();
    ads?.close();
    await app?.close();
    ca?.remove();
  });

  it('runs two workers on one xDS stream, both running the configuration', async () => {
    const d = await dump(gateway);
    assert.equal(d.workers.length, 2);
    assert.notEqual(d.workers[0].pid, d.workers[1].pid);
    for (const w of d.workers) assert.ok(w.applied >= 1, `worker ${w.id} applied ${w.applied}`);
    // Only the primary's node ever spoke xDS.
    assert.equal(nodes.size, 1, [...nodes].join(', '));
  });

  it('sums both workers’ metrics on the primary’s /stats/prometheus', async () => {
    const before = await served(gateway);
    for (let i = 0; i < 20; i++) {
      // A new connection each: the primary hands connections to the workers in turn.
      const res = await fetch(`http://127.0.0.1:${httpPort}/count/${i}`, {
        headers: { connection: 'close' },
      });
      assert.equal(await res.text(), 'app');
    }
    await waitFor(
      'the 20 requests in the summed metrics',
      async () => (await served(gateway)) === before + 20,
      10_000,
      50,
    );
  });

  it('shows the workers’ clusters on the primary’s /clusters: hosts, health, counters summed', async () => {
    interface Host {
      address: string;
      healthy: boolean;
      rqTotal: number;
      rqError: number;
      workers: { of: number; unhealthy: number };
    }
    const host = async (): Promise<Host> => {
      const res = await fetch(`http://127.0.0.1:${gateway.adminPort}/clusters?format=json`);
      const body = (await res.json()) as { clusters: Array<{ name: string; hosts: Host[] }> };
      const app = body.clusters.find((c) => c.name === 'app');
      assert.ok(app, JSON.stringify(body));
      assert.equal(app.hosts.length, 1);
      return app.hosts[0];
    };
    const before = await host();
    assert.equal(before.address, `127.0.0.1:${app.port}`);
    assert.deepEqual(before.workers, { of: 2, unhealthy: 0 });
    assert.equal(before.healthy, true);
    for (let i = 0; i < 20; i++) {
      // A new connection each: both workers send some of them to the host.
      const res = await fetch(`http://127.0.0.1:${httpPort}/clusters/${i}`, {
        headers: { connection: 'close' },
      });
      assert.equal(await res.text(), 'app');
    }
    // Each worker counts its own; the primary's view is their sum.
    const after = await host();
    assert.equal(after.rqTotal - before.rqTotal, 20);
    assert.equal(after.rqError, before.rqError);
    const text = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/clusters`)).text();
    assert.ok(
      text.includes(`app::127.0.0.1:${app.port}::rq_total::${after.rqTotal}\n`),
      `Envoy's text format: ${text}`,
    );
    assert.ok(text.includes(`app::127.0.0.1:${app.port}::health_flags::healthy\n`), text);
  });

  it('answers /stats on the primary with the workers’ stats summed, from the first request', async () => {
    const get = async <T>(path: string) =>
      (await (await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`)).json()) as T;
    // Nothing is sent meanwhile: both views are of the same counts.
    const summed = await get<Record<string, number>>('/stats?format=json');
    const each = await get<Array<{ stats: Record<string, number> }>>('/stats/workers');
    assert.equal(each.length, 2);
    assert.equal(summed.workers, 2);
    // The 40 requests of the tests above (a primary's first /stats was once its own, empty).
    assert.ok(summed.responses2xx >= 40, JSON.stringify(summed));
    assert.equal(summed.responses2xx, each[0].stats.responses2xx + each[1].stats.responses2xx);
    // One configuration runs everywhere: its version is not added up.
    assert.equal(
      summed.config_version,
      Math.max(each[0].stats.config_version, each[1].stats.config_version),
    );
    assert.equal(summed.xds_connected, 1);
    const text = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/stats`)).text();
    assert.ok(text.includes(`responses2xx: ${summed.responses2xx}\n`), text);
  });

  it('one certificate rotation reaches both workers, with no failed request', async () => {
    const get = () =>
      new Promise<string>((resolve, reject) => {
        https
          .get(
            {
              host: '127.0.0.1',
              port: httpsPort,
              servername: 'shop.example.test',
              headers: { host: 'shop.example.test' },
              ca: ca.rootPem,
              agent: false,
              path: '/rotating',
            },
            (res) => {
              const fp = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
              res.resume();
              res.on('end', () =>
                res.statusCode === 200 ? resolve(fp) : reject(new Error(`${res.statusCode}`)),
              );
            },
          )
          .on('error', reject);
      });
    const rotated = ca.issue('shop.example.test');
    const next = new crypto.X509Certificate(rotated.cert).fingerprint256;
    ads.push(types.SECRET, [secret('edge/shop', rotated)]);
    // Wait until a new handshake gets the new certificate, then every one of 20 in a row
    // must (connections alternate between the workers, so both have it).
    await waitFor(
      'a handshake with the new certificate',
      async () => (await get()) === next,
      10_000,
      20,
    );
    for (let i = 0; i < 20; i++) assert.equal(await get(), next, `handshake ${i}`);
  });

  it('SIGTERM drains both workers: a request in flight finishes, then the process exits 0', async () => {
    const slow = fetch(`http://127.0.0.1:${httpPort}/slow`);
    await waitFor('the slow request at the app', () => app.inFlight > 0, 10_000);
    gateway.kill();
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'slow done');
    assert.equal(await gateway.exited, 0, gateway.output());
    await waitFor(
      'the listeners to close',
      async () => {
        try {
          await fetch(`http://127.0.0.1:${httpPort}/after`);
          return false;
        } catch {
          return true;
        }
      },
      15_000,
      50,
    );
  });
});
