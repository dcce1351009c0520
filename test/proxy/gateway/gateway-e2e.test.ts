/**
 * End to end, as a user runs it: a mesh file with a Gateway, an HTTPRoute and a certificate
 * from files -> the control plane -> `ferry gateway` (a real process) -> the service's
 * sidecar -> its app. Then the certificate file is replaced while requests keep coming over
 * new TLS connections: not one fails, and new handshakes get the new certificate.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { silentLogger } from '../../../src/log/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { startSidecar } from '../../support/mesh-harness.js';
import { OpensslCa, type ServerCert } from '../../support/server-certs.js';
import { waitFor } from '../../support/wait-for.js';
import { freePort, type GatewayProcess, startGateway, waitReady } from './gateway-harness.js';

function mesh(httpPort: number, httpsPort: number): string {
  return `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
secrets:
  - { name: web-cert, certFile: web.crt, keyFile: web.key }
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: edge, namespace: default }
    spec:
      gatewayClassName: ferry
      listeners:
        - { name: http, port: ${httpPort}, protocol: HTTP }
        - name: https
          port: ${httpsPort}
          protocol: HTTPS
          hostname: web.example.com
          tls: { mode: Terminate, certificateRefs: [{ name: web-cert }] }
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: web }
    spec:
      parentRefs: [{ name: edge }]
      rules:
        - matches: [{ path: { type: PathPrefix, value: /api } }]
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: { set: [{ name: x-edge, value: "1" }] }
          backendRefs: [{ name: api, port: 8080 }]
`;
}

describe('Gateway API end to end: mesh file -> control plane -> ferry gateway -> sidecar -> app', function () {
  this.timeout(90_000);
  let dir: string;
  let ca: OpensslCa;
  let cp: ControlPlane;
  let app: HttpUpstream;
  let sidecar: Sidecar;
  let gateway: GatewayProcess;
  let httpPort = 0;
  let httpsPort = 0;

  /** Writes a certificate as the operator does: each file replaced whole (rename). */
  async function writeCert(cert: ServerCert): Promise<void> {
    await writeFile(join(dir, 'web.crt.new'), cert.cert);
    await writeFile(join(dir, 'web.key.new'), cert.key);
    await rename(join(dir, 'web.key.new'), join(dir, 'web.key'));
    await rename(join(dir, 'web.crt.new'), join(dir, 'web.crt'));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-gateway-e2e-'));
    ca = OpensslCa.create();
    await writeCert(ca.issue('web.example.com'));
    httpPort = await freePort();
    httpsPort = await freePort();
    await writeFile(join(dir, 'mesh.yaml'), mesh(httpPort, httpsPort));
    // The app answers with what reached it: the header the route's filter set.
    app = await startHttpUpstream('api', (_s, req, res) => {
      res.end(`api x-edge=${req.headers['x-edge'] ?? ''}`);
      return true;
    });
    cp = await ControlPlane.start({
      configPath: join(dir, 'mesh.yaml'),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    sidecar = await startSidecar(cp.xdsPort, { service: 'api', appPort: app.port });
    gateway = await startGateway({ port: cp.xdsPort }, ['--concurrency', '1'], 'default/edge');
    await waitReady(gateway);
  });

  after(async () => {
    gateway?.kill();
    await sidecar?.stop(0);
    await cp?.close();
    await app?.close();
    ca?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('routes HTTP through the sidecar to the app, with the route’s header modifier', async () => {
    // The gateway learns the sidecar's endpoint once it registered: wait for a 200.
    let text = '';
    await waitFor(
      'the route to reach the app',
      async () => {
        const res = await fetch(`http://127.0.0.1:${httpPort}/api/orders`).catch(() => undefined);
        text = res?.status === 200 ? await res.text() : '';
        return text !== '';
      },
      20_000,
      50,
    );
    assert.equal(text, 'api x-edge=1');
    assert.equal(app.seen.at(-1)?.url, '/api/orders');
    const miss = await fetch(`http://127.0.0.1:${httpPort}/other`);
    assert.equal(miss.status, 404);
  });

  it('replaces the certificate file under load: zero failed requests, new handshakes get the new one', async () => {
    const get = () =>
      new Promise<{ status: number; body: string; fp: string }>((resolve, reject) => {
        https
          .get(
            {
              host: '127.0.0.1',
              port: httpsPort,
              servername: 'web.example.com',
              headers: { host: 'web.example.com' },
              ca: ca.rootPem,
              agent: false,
              path: '/api/tls',
            },
            (res) => {
              const fp = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
              let body = '';
              res.on('data', (d) => {
                body += d;
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fp }));
            },
          )
          .on('error', reject);
      });
    let ok = 0;
    const failures: string[] = [];
    const seen = new Map<string, number>();
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await get();
          if (r.status === 200 && r.body === 'api x-edge=1') ok++;
          else failures.push(`${r.status} ${r.body}`);
          seen.set(r.fp, (seen.get(r.fp) ?? 0) + 1);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await waitFor('requests under load', () => ok >= 20, 20_000);
    const next = ca.issue('web.example.com');
    const fp = new crypto.X509Certificate(next.cert).fingerprint256;
    await writeCert(next);
    await waitFor(
      'handshakes with the replaced certificate',
      () => (seen.get(fp) ?? 0) >= 20,
      30_000,
    );
    stop = true;
    await Promise.all(workers);
    console.log(`      certificate file replaced under load: ${ok} ok, ${failures.length} failed`);
    assert.deepEqual(failures, []);
  });
});
