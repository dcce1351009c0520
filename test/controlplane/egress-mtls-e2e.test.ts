/**
 * The egress gateway in a mesh with a CA, end to end with real processes: the control plane
 * (its CA on), `ferry gateway --mode egress` (two workers, as a gateway with a CPU limit of 2
 * runs: the certificate reaches both) and a client `ferry proxy`, each with its own workload
 * certificate. The hop from sidecar to gateway is mutual TLS both ways, as Istio's
 * ISTIO_MUTUAL: the gateway takes only clients with a certificate from the mesh's CA
 * (plaintext, no certificate, another CA's: refused; checked with node's TLS client and with
 * openssl s_client), and the sidecar accepts only the gateway's SPIFFE ID. The app's own TLS
 * to a declared tls host rides inside that hop (its SNI kept) and is verified by the app
 * against the external server's own CA (node's TLS client and curl).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { ControlPlane } from '../../src/controlplane/index.js';
import { CA_FILES } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import {
  freePort,
  type GatewayProcess,
  startGateway,
  waitReady,
} from '../proxy/gateway/gateway-harness.js';
import { type HttpUpstream, startHttpUpstream } from '../support/http-upstream.js';
import { OpensslCa } from '../support/server-certs.js';
import { type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import { waitFor } from '../support/wait-for.js';

const GATEWAY_ID = 'spiffe://cluster.local/ns/egress/sa/out';

interface Reply {
  readonly status: number;
  readonly flags: string;
  readonly body: string;
}

/** A GET with this Host through `port` (plaintext HTTP to a sidecar's outbound listener). */
function get(port: number, host: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/out', headers: { host }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            flags: String(res.headers['x-ferry-response-flags'] ?? ''),
            body,
          }),
        );
      })
      .on('error', reject);
  });
}

/**
 * A GET over TLS to 127.0.0.1:`port` with this SNI, verified against `ca` for that name:
 * the reply and the certificate the server presented, or the error that ended it.
 */
function httpsGet(
  port: number,
  servername: string,
  ca: string,
  host: string,
  client?: { key: string; cert: string },
): Promise<{ reply: Reply; peer: tls.PeerCertificate } | { error: string }> {
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        servername,
        ca,
        path: '/',
        headers: { host },
        agent: false,
        ...(client ?? {}),
        // The gateway's certificate names a SPIFFE ID, no DNS name: checked by the test.
        ...(servername === 'gateway' ? { checkServerIdentity: () => undefined } : {}),
      },
      (res) => {
        const peer = (res.socket as tls.TLSSocket).getPeerCertificate();
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () =>
          resolve({
            reply: {
              status: res.statusCode ?? 0,
              flags: String(res.headers['x-ferry-response-flags'] ?? ''),
              body,
            },
            peer,
          }),
        );
      },
    );
    req.on('error', (err) =>
      resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }),
    );
  });
}

/** Whether a plaintext HTTP request to `port` gets any answer (bytes) before the connection ends. */
function plaintextAnswered(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () =>
      s.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    );
    let got = false;
    s.on('data', () => {
      got = true;
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

/** Whether TLS with this SNI (and client certificate, if any) to `port` carries any byte back. */
function tlsAnswered(
  port: number,
  servername: string,
  client?: { key: string; cert: string; ca?: string },
): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      ...(client ?? {}),
    });
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    let got = false;
    s.on('data', () => {
      got = true;
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

/** Runs a tool with `input` on stdin: its exit code and everything it printed. */
function run(cmd: string, args: string[], input = ''): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({
        code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) || 1 : 0,
        out: stdout + stderr,
      }),
    );
    child.stdin?.end(input);
  });
}

/** The sum of a metric's series on the gateway whose labels contain `has`. */
async function gatewaySum(gateway: GatewayProcess, name: string, has = ''): Promise<number> {
  const text = await (
    await fetch(`http://127.0.0.1:${gateway.metricsPort}/stats/prometheus`)
  ).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(has))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('egress with mTLS end to end: sidecar -(mTLS)-> ferry gateway --mode egress -> external host', function () {
  this.timeout(120_000);
  let dir: string;
  let meshFile: string;
  let meshText: string;
  let ca: OpensslCa;
  let cp: ControlPlane;
  let rootFile: string;
  let external: HttpUpstream;
  let externalTls: https.Server;
  let tlsExternalPort = 0;
  let gateway: GatewayProcess;
  let client: SidecarProcess;
  let httpPort = 0;
  let tlsPort = 0;
  let meshClient: { key: string; cert: string };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-egress-mtls-'));
    ca = OpensslCa.create('External services root');
    const cert = ca.issue('localhost');
    external = await startHttpUpstream('external-api');
    externalTls = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) =>
      res.end('hello from outside'),
    );
    await new Promise<void>((r) => externalTls.listen(0, '127.0.0.1', r));
    tlsExternalPort = (externalTls.address() as net.AddressInfo).port;
    httpPort = await freePort();
    tlsPort = await freePort();
    meshFile = join(dir, 'mesh.yaml');
    meshText = `mesh: { trustDomain: cluster.local }
services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
egress:
  gateway: egress/out
  httpPort: ${httpPort}
  tlsPort: ${tlsPort}
  hosts:
    - { host: localhost, port: ${external.port}, protocol: http }
    - { host: localhost, port: ${tlsExternalPort}, protocol: tls }
`;
    await writeFile(meshFile, meshText);
    const caDir = join(dir, 'ca');
    cp = await ControlPlane.start({
      configPath: meshFile,
      caDir,
      xdsPort: 0,
      httpPort: 0,
      securePort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    const identity = cp.identity;
    assert.ok(identity?.tokens);
    rootFile = join(caDir, CA_FILES.root);
    const token = async (namespace: string, serviceAccount: string) => {
      const file = join(dir, `${serviceAccount}.token`);
      await writeFile(file, identity.tokens!.issue({ namespace, serviceAccount }, 3_600_000));
      return file;
    };
    const issued = await identity.ca.issueLocal(
      'spiffe://cluster.local/ns/default/sa/probe',
      3_600_000,
      {},
    );
    meshClient = { key: issued.key, cert: issued.chain.join('\n') };
    await writeFile(join(dir, 'probe.key'), meshClient.key);
    await writeFile(join(dir, 'probe.crt'), meshClient.cert);
    gateway = await startGateway(
      { port: cp.securePort },
      [
        ...['--mode', 'egress', '--concurrency', '2', '--address', '127.0.0.1'],
        ...['--ca-root', rootFile, '--token-file', await token('egress', 'out')],
      ],
      'egress/out',
    );
    await waitReady(gateway);
    client = await startSidecarProcess(
      [
        ...['--xds', `127.0.0.1:${cp.securePort}`, '--service', 'client', '--id', 'client-1'],
        ...['--ca-root', rootFile, '--token-file', await token('default', 'client')],
        ...['--service-account', 'client'],
      ],
      30_000,
    );
  });

  after(async () => {
    await client?.kill();
    gateway?.kill();
    await cp?.close();
    await external?.close();
    externalTls?.close();
    ca?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("sends a sidecar's HTTP for a declared host through the gateway over mutual TLS", async () => {
    const before = await gatewaySum(gateway, 'istio_requests_total');
    let res: Reply = { status: 0, flags: '', body: '' };
    await waitFor(
      'the declared host to be reached through the gateway',
      async () => {
        res = await get(client.ports.outbound, `localhost:${external.port}`).catch(() => res);
        return res.status === 200;
      },
      30_000,
      50,
    );
    assert.equal(res.body, 'external-api');
    assert.equal(external.seen.at(-1)?.host, `localhost:${external.port}`);
    const counted = (await gatewaySum(gateway, 'istio_requests_total')) - before;
    assert.ok(counted >= 1, `the gateway counted ${counted}`);
    console.log(`      requests through the gateway over mTLS: ${counted}`);
  });

  it('the gateway refuses plaintext, no certificate and another CA; takes a mesh certificate', async () => {
    const other = ca.issue('intruder.example');
    const refused = {
      plaintext: await plaintextAnswered(httpPort),
      noCertificate: await tlsAnswered(httpPort, 'gateway'),
      otherCa: await tlsAnswered(httpPort, 'gateway', other),
      tlsPortPlaintext: await plaintextAnswered(tlsPort),
      tlsPortNoCertificate: await tlsAnswered(tlsPort, 'localhost'),
      tlsPortOtherCa: await tlsAnswered(tlsPort, 'localhost', other),
    };
    assert.deepEqual(refused, {
      plaintext: false,
      noCertificate: false,
      otherCa: false,
      tlsPortPlaintext: false,
      tlsPortNoCertificate: false,
      tlsPortOtherCa: false,
    });
    // A client with a certificate from the mesh's CA is served, and the gateway presents its
    // own workload identity.
    const root = await readFile(rootFile, 'utf8');
    const ok = await httpsGet(httpPort, 'gateway', root, `localhost:${external.port}`, meshClient);
    assert.ok('reply' in ok, JSON.stringify(ok));
    assert.equal(ok.reply.body, 'external-api');
    assert.equal(new X509Certificate(ok.peer.raw).subjectAltName, `URI:${GATEWAY_ID}`);
    console.log(
      `      refused at the gateway: ${Object.keys(refused).length} of ${Object.keys(refused).length} clients without a mesh certificate`,
    );
  });

  it('openssl s_client: refused without a client certificate, served with a mesh one', async () => {
    const base = ['s_client', '-connect', `127.0.0.1:${httpPort}`, '-CAfile', rootFile];
    const request = `GET / HTTP/1.1\r\nHost: localhost:${external.port}\r\nConnection: close\r\n\r\n`;
    const without = await run('openssl', [...base, '-quiet'], request);
    assert.doesNotMatch(without.out, /HTTP\/1\.1 200/);
    assert.match(without.out, /alert|error|certificate required/i, without.out);
    const withCert = await run(
      'openssl',
      [...base, '-cert', join(dir, 'probe.crt'), '-key', join(dir, 'probe.key'), '-ign_eof'],
      request,
    );
    assert.match(withCert.out, /Verify return code: 0 \(ok\)/, withCert.out);
    assert.match(withCert.out, /HTTP\/1\.1 200/, withCert.out);
    assert.match(withCert.out, /external-api/);
  });

  it("the app's own TLS to a declared tls host goes through its sidecar and the gateway, verified end to end", async () => {
    const opened = 'istio_tcp_connections_opened_total';
    const before = await gatewaySum(gateway, opened);
    type Got = Awaited<ReturnType<typeof httpsGet>>;
    let res: Got = { error: 'not tried' };
    await waitFor(
      'the TLS host to be reached through the gateway',
      async () => {
        res = await httpsGet(
          client.ports.outbound,
          'localhost',
          ca.rootPem,
          `localhost:${tlsExternalPort}`,
        );
        return 'reply' in res;
      },
      30_000,
      100,
    );
    const got = res as Got;
    assert.ok('reply' in got, JSON.stringify(got));
    assert.equal(got.reply.body, 'hello from outside');
    // The certificate the app verified is the external server's, from its own CA.
    assert.equal(got.peer.subject.CN, 'localhost');
    const curl = await run('curl', [
      ...['-sS', '--max-time', '10', '--cacert', ca.rootFile],
      ...['--connect-to', `localhost:${tlsExternalPort}:127.0.0.1:${client.ports.outbound}`],
      `https://localhost:${tlsExternalPort}/`,
    ]);
    assert.equal(curl.code, 0, curl.out);
    assert.equal(curl.out, 'hello from outside');
    const counted = (await gatewaySum(gateway, opened)) - before;
    assert.ok(counted >= 2, `the gateway counted ${counted} TCP connections`);
    console.log(`      TLS connections the gateway counted (node + curl): ${counted}`);
  });

  it('a gateway without the SPIFFE ID the sidecar expects is refused by the sidecar', async () => {
    // The mesh file now says the gateway runs as another service account.
    await writeFile(
      meshFile,
      meshText.replace('  httpPort:', '  serviceAccount: someone-else\n  httpPort:'),
    );
    let res: Reply = { status: 0, flags: '', body: '' };
    await waitFor(
      'the sidecar to refuse the gateway',
      async () => {
        res = await get(client.ports.outbound, `localhost:${external.port}`).catch(() => res);
        return res.status === 503;
      },
      30_000,
      100,
    );
    assert.notEqual(res.body, 'external-api');
    const tlsRes = await httpsGet(
      client.ports.outbound,
      'localhost',
      ca.rootPem,
      `localhost:${tlsExternalPort}`,
    );
    assert.ok('error' in tlsRes, JSON.stringify(tlsRes));
    // Back to the gateway's own identity: served again.
    await writeFile(meshFile, meshText);
    await waitFor(
      'the sidecar to accept the gateway again',
      async () => {
        res = await get(client.ports.outbound, `localhost:${external.port}`).catch(() => res);
        return res.status === 200;
      },
      30_000,
      100,
    );
  });
});
