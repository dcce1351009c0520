/**
 * `ferry gateway` as a real process, configured over a real ADS stream with the resources
 * the control plane serves a gateway node: plaintext HTTP, HTTPS with two certificates chosen
 * by SNI (checked with curl and openssl s_client), TLS passed through by SNI, TCP, and a
 * certificate rotated (a new SDS secret version) under load with zero failed requests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
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
  tcpProxy,
  tlsSocket,
  waitReady,
} from './gateway-harness.js';

const run = promisify(execFile);

interface Ports {
  http: number;
  https: number;
  tcp: number;
  guarded: number;
}

describe('ferry gateway', function () {
  this.timeout(60_000);
  let ca: OpensslCa;
  let certA: ServerCert;
  let certB: ServerCert;
  let certC: ServerCert;
  let ads: FuzzAdsServer;
  let appA: HttpUpstream;
  let appB: HttpUpstream;
  let tlsBackend: tls.Server;
  let echo: net.Server;
  let gateway: GatewayProcess;
  const ports: Ports = { http: 0, https: 0, tcp: 0, guarded: 0 };

  const pushSecrets = (a: ServerCert) =>
    ads.push(types.SECRET, [secret('edge/cert-a', a), secret('edge/cert-b', certB)]);

  before(async () => {
    ca = OpensslCa.create();
    certA = ca.issue('a.example.test');
    certB = ca.issue('b.example.test', '*.b.example.test');
    certC = ca.issue('c.example.test');
    appA = await startHttpUpstream('app-a');
    appB = await startHttpUpstream('app-b');
    // The passthrough backend terminates TLS itself, with its own certificate.
    tlsBackend = tls.createServer({ key: certC.key, cert: certC.cert }, (s) => s.pipe(s));
    await new Promise<void>((r) => tlsBackend.listen(0, '127.0.0.1', r));
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    ports.http = await freePort();
    ports.https = await freePort();
    ports.tcp = await freePort();
    ports.guarded = await freePort();
    ads = new FuzzAdsServer();
    await ads.start();
    ads.set(types.CLUSTER, [
      staticCluster('app-a', appA.port),
      staticCluster('app-b', appB.port),
      staticCluster('tls-c', (tlsBackend.address() as net.AddressInfo).port),
      staticCluster('echo', (echo.address() as net.AddressInfo).port),
    ]);
    ads.set(types.LISTENER, [
      listener(ports.http, [{ filters: [hcm(`gateway~${ports.http}`)] }]),
      listener(
        ports.https,
        [
          {
            filter_chain_match: { server_names: ['a.example.test'] },
            transport_socket: tlsSocket('edge/cert-a'),
            filters: [hcm(`gateway~${ports.https}`)],
          },
          {
            filter_chain_match: { server_names: ['b.example.test', '*.b.example.test'] },
            transport_socket: tlsSocket('edge/cert-b'),
            filters: [hcm(`gateway~${ports.https}`)],
          },
          {
            filter_chain_match: { server_names: ['c.example.test'] },
            filters: [tcpProxy('tls-c')],
          },
        ],
        true,
      ),
      listener(ports.tcp, [{ filters: [tcpProxy('echo')] }]),
      // An authorization policy on the gateway (Envoy's RBAC filter): /admin is denied.
      listener(ports.guarded, [
        {
          filters: [
            hcm(`gateway~${ports.guarded}`, {
              rules: {
                action: 'DENY',
                policies: {
                  'edge/deny-admin': {
                    permissions: [{ url_path: { path: { prefix: '/admin' } } }],
                    principals: [{ any: true }],
                  },
                },
              },
            }),
          ],
        },
      ]),
    ]);
    ads.set(types.ROUTE, [
      routes(`gateway~${ports.http}`, { '*': 'app-a' }),
      routes(`gateway~${ports.guarded}`, { '*': 'app-a' }),
      routes(`gateway~${ports.https}`, {
        'a.example.test': 'app-a',
        'b.example.test': 'app-b',
        '*.b.example.test': 'app-b',
      }),
    ]);
    ads.set(types.ENDPOINT, []);
    ads.set(types.SECRET, [secret('edge/cert-a', certA), secret('edge/cert-b', certB)]);
    gateway = await startGateway(ads, ['--service', 'public-gateway', '--concurrency', '1']);
    await waitReady(gateway);
  });

  after(async () => {
    gateway?.kill();
    ads?.close();
    await Promise.all([appA?.close(), appB?.close()]);
    tlsBackend?.close();
    echo?.close();
    ca?.remove();
  });

  it('routes plaintext HTTP by its RDS route configuration', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.http}/hello`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'app-a');
    assert.ok(appA.seen.some((s) => s.url === '/hello'));
  });

  it('terminates HTTPS with the certificate the SNI names (curl, verifying against the root)', async () => {
    for (const [host, app] of [
      ['a.example.test', 'app-a'],
      ['b.example.test', 'app-b'],
      ['x.b.example.test', 'app-b'],
    ]) {
      const { stdout } = await run('curl', [
        '-sS',
        '--fail',
        '--resolve',
        `${host}:${ports.https}:127.0.0.1`,
        '--cacert',
        ca.rootFile,
        '-w',
        ' %{http_version} %{ssl_verify_result}',
        `https://${host}:${ports.https}/via-curl`,
      ]);
      // The body is the upstream's name; curl verified the chain and the name (result 0).
      assert.match(stdout, new RegExp(`^${app} (1\\.1|2) 0$`), `${host}: ${stdout}`);
    }
  });

  it('presents each chain its own certificate (openssl s_client -servername)', async () => {
    for (const [host, cn] of [
      ['a.example.test', 'a.example.test'],
      ['b.example.test', 'b.example.test'],
    ]) {
      const { stdout } = await run(
        'sh',
        [
          '-c',
          `openssl s_client -connect 127.0.0.1:${ports.https} -servername ${host} -CAfile ${ca.rootFile} -verify_return_error -verify_hostname ${host} </dev/null`,
        ],
        { timeout: 20_000 },
      );
      assert.match(stdout, new RegExp(`subject=CN *= *${cn.replace(/\./g, '\\.')}`));
      assert.match(stdout, /Verify return code: 0 \(ok\)/);
    }
  });

  it('refuses a TLS client whose SNI no chain matches (no default chain)', async () => {
    const failed = await new Promise<boolean>((resolve) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: ports.https,
        servername: 'nobody.example.test',
        ca: ca.rootPem,
      });
      s.once('secureConnect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
      s.once('close', () => resolve(true));
    });
    assert.equal(failed, true);
  });

  it('passes TLS through by SNI untouched: the backend terminates it with its own certificate', async () => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: ports.https,
      servername: 'c.example.test',
      ca: ca.rootPem,
    });
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', resolve);
      s.once('error', reject);
    });
    assert.equal(s.authorized, true);
    assert.equal(s.getPeerCertificate().subject.CN, 'c.example.test');
    s.write('through the gateway');
    const echoed = await new Promise<string>((resolve) =>
      s.once('data', (d) => resolve(String(d))),
    );
    assert.equal(echoed, 'through the gateway');
    s.destroy();
  });

  it('proxies TCP to its tcp_proxy cluster', async () => {
    const s = net.connect(ports.tcp, '127.0.0.1');
    s.write('ping');
    const echoed = await new Promise<string>((resolve, reject) => {
      s.once('data', (d) => resolve(String(d)));
      s.once('error', reject);
    });
    assert.equal(echoed, 'ping');
    s.destroy();
  });

  it('applies authorization policies (RBAC) as a sidecar does: 403 for a denied path', async () => {
    const denied = await fetch(`http://127.0.0.1:${ports.guarded}/admin/users`);
    assert.equal(denied.status, 403);
    assert.equal(
      appA.seen.some((s) => s.url === '/admin/users'),
      false,
    );
    const allowed = await fetch(`http://127.0.0.1:${ports.guarded}/public`);
    assert.equal(allowed.status, 200);
  });

  it('reports requests as Istio gateways do: reporter source, its own workload', async () => {
    const res = await fetch(`http://127.0.0.1:${gateway.metricsPort}/stats/prometheus`);
    const text = await res.text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{') && l.includes('response_code="200"'));
    assert.ok(line, text);
    assert.match(line, /reporter="source"/);
    assert.match(line, /source_workload="public-gateway"/);
    assert.match(line, /source_workload_namespace="edge"/);
    assert.match(line, /source_canonical_service="public-gateway"/);
    assert.match(line, /source_app="public-gateway"/);
  });

  it('rotates a certificate under load with zero failed requests; open connections keep theirs', async () => {
    const fingerprint = (cert: ServerCert) => new crypto.X509Certificate(cert.cert).fingerprint256;
    const before = fingerprint(certA);
    // A keep-alive connection opened before the rotation.
    const kept = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (agent: https.Agent | false) =>
      new Promise<{ status: number; body: string; fp: string }>((resolve, reject) => {
        const req = https.get(
          {
            host: '127.0.0.1',
            port: ports.https,
            servername: 'a.example.test',
            headers: { host: 'a.example.test' },
            ca: ca.rootPem,
            agent,
            path: '/load',
          },
          (res) => {
            const fp = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
            let body = '';
            res.on('data', (d) => {
              body += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fp }));
          },
        );
        req.on('error', reject);
      });
    const first = await get(kept);
    assert.equal(first.fp, before);
    let ok = 0;
    let failed = 0;
    const errors: string[] = [];
    const seen = new Map<string, number>();
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await get(false);
          if (r.status === 200 && r.body === 'app-a') ok++;
          else {
            failed++;
            errors.push(`${r.status} ${r.body}`);
          }
          seen.set(r.fp, (seen.get(r.fp) ?? 0) + 1);
        } catch (err) {
          failed++;
          errors.push((err as Error).message);
        }
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    await waitFor('requests under load before the rotation', () => ok >= 30, 20_000);
    const rotated = ca.issue('a.example.test');
    const after = fingerprint(rotated);
    pushSecrets(rotated);
    await waitFor(
      'new handshakes to get the new certificate',
      () => (seen.get(after) ?? 0) >= 30,
      20_000,
    );
    stop = true;
    await Promise.all(workers);
    console.log(
      `      rotation under load: ${ok} requests ok, ${failed} failed; old cert ${seen.get(before)}, new cert ${seen.get(after)}`,
    );
    assert.equal(failed, 0, errors.slice(0, 5).join('\n'));
    // The connection opened before the rotation still works, with the certificate it had.
    const again = await get(kept);
    assert.equal(again.status, 200);
    assert.equal(again.fp, before);
    kept.destroy();
  });
});
