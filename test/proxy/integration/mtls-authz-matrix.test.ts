/**
 * STRICT inbound ports and authorization, from the outside and through the mesh:
 * - TLS clients (Node's and `openssl s_client`) without a certificate, with one from another
 *   CA, or with an expired one get nothing from a STRICT port; a valid one gets served;
 * - an allow/deny matrix over identities, methods and paths, over HTTP and gRPC, through
 *   client sidecars with different identities.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { AuthorizationRule } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import type { WorkloadCertificate } from '../../../src/proxy/tls/index.js';
import { type EchoBackend, EchoClient, startEchoBackend } from '../../support/echo-grpc.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { ManualCertificates, TestCa } from '../../support/test-ca.js';

const id = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;
const STRICT = {
  loadBalancer: 'round_robin' as const,
  connectTimeoutMs: 1000,
  mtls: 'STRICT' as const,
};

const API_RULES: AuthorizationRule[] = [
  {
    name: 'no-admin',
    action: 'DENY',
    from: [],
    to: [{ methods: [], paths: [{ prefix: '/admin' }], ports: [] }],
  },
  {
    name: 'web-reads',
    action: 'ALLOW',
    from: [{ principals: [{ exact: id('web') }], namespaces: [] }],
    to: [{ methods: ['GET'], paths: [{ prefix: '/public/' }], ports: [] }],
  },
  {
    name: 'web-writes',
    action: 'ALLOW',
    from: [{ principals: [{ exact: id('web') }], namespaces: [] }],
    to: [{ methods: ['POST'], paths: [{ prefix: '/api/' }], ports: [] }],
  },
];

const ECHO_RULES: AuthorizationRule[] = [
  {
    name: 'web-calls-echo',
    action: 'ALLOW',
    from: [{ principals: [{ exact: id('web') }], namespaces: [] }],
    to: [{ methods: [], paths: [{ exact: '/ferry.test.Echo/Call' }], ports: [] }],
  },
];

/** One request over TLS straight to a port; the status line, or what went wrong. */
function tlsRequest(
  port: number,
  cert: WorkloadCertificate | undefined,
  roots: string,
): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ca: roots,
      ...(cert ? { key: cert.key, cert: cert.chain } : {}),
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.3',
    });
    let got = '';
    const done = (why: string) => {
      s.destroy();
      resolve(got.startsWith('HTTP/') ? got.split('\r\n')[0] : why);
    };
    s.on('secureConnect', () =>
      s.write('GET /public/x HTTP/1.1\r\nHost: api:8080\r\nConnection: close\r\n\r\n'),
    );
    s.on('data', (d) => (got += d));
    s.on('error', (e: NodeJS.ErrnoException) => done(`error ${e.code ?? e.message}`));
    s.on('close', () => done('closed'));
    setTimeout(() => done('timeout'), 3000);
  });
}

// Regression: STRICT inbound ports used to accept a client certificate from another CA, or
// an expired one (a TLSSocket made by hand does not check the chain; only "no certificate"
// was refused). The first two tests fail without the check in the listener.
describe('integration: STRICT inbound and the authorization matrix', function () {
  this.timeout(40_000);
  let ca: TestCa;
  let cp: ControlPlane;
  let api: Sidecar;
  let echo: Sidecar;
  let web: Sidecar;
  let other: Sidecar;
  let app: HttpUpstream;
  let backend: EchoBackend;
  let webCert: WorkloadCertificate;
  let dir = '';

  before(async () => {
    ca = await TestCa.create();
    dir = mkdtempSync(path.join(tmpdir(), 'ferry-mtls-'));
    app = await startHttpUpstream('api-app');
    backend = await startEchoBackend('echo-1');
    cp = await startControlPlane(
      mesh(
        service('api', 8080, 'http', [], { policy: STRICT, authorization: API_RULES }),
        service('echo', 50051, 'grpc', [], { policy: STRICT, authorization: ECHO_RULES }),
      ),
    );
    const side = async (name: string, appPort?: number) =>
      startSidecar(cp.xdsPort, {
        service: name,
        serviceAccount: name,
        ...(appPort ? { appPort } : {}),
        certificates: new ManualCertificates(await ca.issue(id(name))),
      });
    webCert = await ca.issue(id('web'));
    api = await side('api', app.port);
    echo = await side('echo', backend.port);
    web = await side('web');
    other = await side('other');
    for (const s of [web, other]) {
      await waitForHosts(s, clusterName('api', 8080), 1);
      await waitForHosts(s, clusterName('echo', 50051), 1);
    }
  });

  after(async () => {
    await Promise.all([api, echo, web, other].map((s) => s?.stop(0)));
    await cp?.close();
    await app?.close();
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses Node's TLS client without a certificate, with another CA's, or an expired one", async () => {
    const foreign = await (await TestCa.create('Another root')).issue(id('web'));
    const expired = await ca.issue(id('web'), -30_000);
    const results = {
      'no certificate': await tlsRequest(api.ports.inbound, undefined, ca.rootPem),
      'another CA': await tlsRequest(api.ports.inbound, foreign, ca.rootPem),
      expired: await tlsRequest(api.ports.inbound, expired, ca.rootPem),
      'valid (web)': await tlsRequest(api.ports.inbound, webCert, ca.rootPem),
    };
    console.log(`      ${JSON.stringify(results)}`);
    for (const [what, result] of Object.entries(results)) {
      if (what === 'valid (web)') assert.equal(result, 'HTTP/1.1 200 OK');
      else assert.ok(!result.startsWith('HTTP/'), `${what}: ${result}`);
    }
  });

  it('refuses openssl s_client without a certificate or with an expired one; serves a valid one', async function () {
    const which = spawnSync('openssl', ['version']);
    if (which.status !== 0) {
      console.log('      skipped: openssl is not installed');
      this.skip();
    }
    const expired = await ca.issue(id('web'), -30_000);
    const files = (name: string, c: WorkloadCertificate) => {
      writeFileSync(path.join(dir, `${name}.key`), c.key);
      writeFileSync(path.join(dir, `${name}.crt`), c.chain);
      return ['-cert', path.join(dir, `${name}.crt`), '-key', path.join(dir, `${name}.key`)];
    };
    // As a shell user would run it: the request piped in, the answer (if any) on stdout.
    // Asynchronously: the sidecar answering runs in this very process.
    const run = (extra: string[]) =>
      new Promise<{ stdout: string; status: number | null }>((resolve) => {
        execFile(
          'bash',
          [
            '-c',
            `printf 'GET /public/x HTTP/1.1\\r\\nHost: api:8080\\r\\nConnection: close\\r\\n\\r\\n' | timeout 5 openssl s_client -connect 127.0.0.1:${api.ports.inbound} -tls1_3 -quiet ${extra.join(' ')} 2>/dev/null`,
          ],
          { encoding: 'utf8', timeout: 8000 },
          (err, stdout) =>
            resolve({ stdout, status: err ? ((err as { code?: number }).code ?? 1) : 0 }),
        );
      });
    const none = await run([]);
    const old = await run(files('expired', expired));
    const good = await run(files('web', webCert));
    const first = (r: { stdout: string; status: number | null }) =>
      (r.stdout ?? '').split('\r\n')[0] || `exit ${r.status}`;
    console.log(
      `      openssl: no certificate -> ${first(none)}; expired -> ${first(old)}; valid -> ${first(good)}`,
    );
    assert.ok(!none.stdout.includes('HTTP/1.1 200'));
    assert.ok(!old.stdout.includes('HTTP/1.1 200'));
    assert.match(good.stdout, /^HTTP\/1\.1 200 OK/);
  });

  it('an allow/deny matrix over identities, methods and paths (HTTP)', async () => {
    const cases: Array<[Sidecar, string, string, string, number]> = [
      [web, 'web', 'GET', '/public/a', 200],
      [web, 'web', 'POST', '/api/x', 200],
      [web, 'web', 'GET', '/api/x', 403], // no ALLOW rule matches
      [web, 'web', 'POST', '/public/a', 403],
      [web, 'web', 'GET', '/admin/users', 403], // DENY wins
      [other, 'other', 'GET', '/public/a', 403],
      [other, 'other', 'POST', '/api/x', 403],
      [other, 'other', 'GET', '/admin', 403],
    ];
    const got: string[] = [];
    const want: string[] = [];
    for (const [side, who, method, path_, status] of cases) {
      const r = await send(side.ports.outbound, { host: 'api:8080', method, path: path_ });
      got.push(`${who} ${method} ${path_} -> ${r.status}`);
      want.push(`${who} ${method} ${path_} -> ${status}`);
      if (r.status === 403) assert.equal(r.body, 'RBAC: access denied');
    }
    console.log(`      ${got.join('; ')}`);
    assert.deepEqual(got, want);
  });

  it('the same over gRPC: web may call Echo/Call, other gets PERMISSION_DENIED', async () => {
    const call = (side: Sidecar) =>
      new Promise<string>((resolve) => {
        const client = new EchoClient(
          `127.0.0.1:${side.ports.outbound}`,
          grpc.credentials.createInsecure(),
          {
            'grpc.default_authority': 'echo:50051',
          },
        );
        (
          client as unknown as {
            Call(req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
          }
        ).Call(Buffer.from('hi'), (err, res) => {
          client.close();
          resolve(err ? `${grpc.status[err.code]}: ${err.details}` : `OK ${res}`);
        });
      });
    const fromWeb = await call(web);
    const fromOther = await call(other);
    console.log(`      web -> ${fromWeb}; other -> ${fromOther}`);
    assert.equal(fromWeb, 'OK echo-1');
    assert.equal(fromOther, 'PERMISSION_DENIED: RBAC: access denied');
  });
});
