/**
 * TLS listeners in Terminate mode (the Gateway API's TLSRouteModeTerminate, after the
 * conformance scenario TLSRouteTerminateSimpleSameNamespace, and TLSRouteModeMixed), end to
 * end as a user runs them: a mesh file with a Gateway whose port 8443-ish carries two TLS
 * listeners in Terminate mode (two certificates, chosen by SNI) and one in Passthrough mode
 * -> the control plane -> `ferry gateway --concurrency 2` (real processes) -> plain TCP
 * backends. The client verifies the certificate the SNI chose (a node TLS client and
 * openssl s_client); the backend sees the cleartext; a certificate file replaced reaches
 * new handshakes on every worker.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { OpensslCa, type ServerCert } from '../../support/server-certs.js';
import { waitFor } from '../../support/wait-for.js';
import { freePort, type GatewayProcess, startGateway, waitReady } from './gateway-harness.js';

const run = promisify(execFile);

/**
 * A plain TCP backend: answers `<name>:<what it got>` per chunk and keeps every byte; a chunk
 * ending in `bye\n` ends the connection after its answer.
 */
interface Backend {
  readonly port: number;
  readonly received: () => Buffer;
  close(): Promise<void>;
}

async function tcpBackend(name: string): Promise<Backend> {
  const chunks: Buffer[] = [];
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const text = d.toString('latin1');
      s.write(`${name}:${text}`);
      if (text.endsWith('bye\n')) s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of open) s.destroy();
      }),
  };
}

function mesh(port: number, a: Backend, b: Backend, passthrough: number): string {
  const tlsRoute = (name: string, section: string, host: string, service: string, to: number) =>
    `  - apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TLSRoute
    metadata: { name: ${name} }
    spec:
      parentRefs: [{ name: edge, sectionName: ${section} }]
      hostnames: [${host}]
      rules: [{ backendRefs: [{ name: ${service}, port: ${to} }] }]
`;
  return `services:
  - name: tcp-a
    ports: [{ port: ${a.port}, protocol: tcp }]
    endpoints: [{ address: 127.0.0.1, port: ${a.port} }]
  - name: tcp-b
    ports: [{ port: ${b.port}, protocol: tcp }]
    endpoints: [{ address: 127.0.0.1, port: ${b.port} }]
  - name: tls-c
    ports: [{ port: ${passthrough}, protocol: tcp }]
    endpoints: [{ address: 127.0.0.1, port: ${passthrough} }]
secrets:
  - { name: cert-a, certFile: a.crt, keyFile: a.key }
  - { name: cert-b, certFile: b.crt, keyFile: b.key }
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: edge, namespace: default }
    spec:
      gatewayClassName: ferry
      listeners:
        - name: term-a
          port: ${port}
          protocol: TLS
          hostname: a.example.test
          tls: { mode: Terminate, certificateRefs: [{ name: cert-a }] }
        - name: term-b
          port: ${port}
          protocol: TLS
          hostname: "*.b.example.test"
          tls: { mode: Terminate, certificateRefs: [{ name: cert-b }] }
        - name: pass-c
          port: ${port}
          protocol: TLS
          hostname: c.example.test
          tls: { mode: Passthrough }
${tlsRoute('to-a', 'term-a', 'a.example.test', 'tcp-a', a.port)}${tlsRoute('to-b', 'term-b', 'x.b.example.test', 'tcp-b', b.port)}${tlsRoute('to-c', 'pass-c', 'c.example.test', 'tls-c', passthrough)}`;
}

/** One TLS connection: sends `line`, resolves with the certificate seen and the answer. */
function exchange(
  port: number,
  servername: string,
  ca: string,
  line: string,
): Promise<{ fingerprint: string; subject: string; answer: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca }, () => {
      const peer = socket.getPeerCertificate();
      socket.write(line);
      let answer = '';
      socket.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
        if (answer.endsWith(line)) {
          socket.end();
          resolve({
            fingerprint: peer.fingerprint256,
            subject: String(peer.subject.CN),
            answer,
            alpn: socket.alpnProtocol ?? false,
          });
        }
      });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('error', reject);
  });
}

describe('ferry gateway: TLS listeners in Terminate mode (TLSRoute), beside Passthrough', function () {
  this.timeout(90_000);
  let dir: string;
  let ca: OpensslCa;
  let certA: ServerCert;
  let certB: ServerCert;
  let a: Backend;
  let b: Backend;
  let passthrough: tls.Server;
  let cp: ControlPlane;
  let gateway: GatewayProcess;
  let port = 0;

  /** Writes a certificate as an operator does: each file replaced whole (rename). */
  async function writeCert(name: string, cert: ServerCert): Promise<void> {
    await writeFile(join(dir, `${name}.crt.new`), cert.cert);
    await writeFile(join(dir, `${name}.key.new`), cert.key);
    await rename(join(dir, `${name}.key.new`), join(dir, `${name}.key`));
    await rename(join(dir, `${name}.crt.new`), join(dir, `${name}.crt`));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-tls-terminate-'));
    ca = OpensslCa.create();
    certA = ca.issue('a.example.test');
    certB = ca.issue('b.example.test', '*.b.example.test');
    await writeCert('a', certA);
    await writeCert('b', certB);
    a = await tcpBackend('backend-a');
    b = await tcpBackend('backend-b');
    // The passthrough backend ends the TLS itself, with a certificate of its own.
    const certC = ca.issue('c.example.test');
    passthrough = tls.createServer({ key: certC.key, cert: certC.cert }, (s) => s.pipe(s));
    await new Promise<void>((r) => passthrough.listen(0, '127.0.0.1', r));
    port = await freePort();
    const cPort = (passthrough.address() as net.AddressInfo).port;
    await writeFile(join(dir, 'mesh.yaml'), mesh(port, a, b, cPort));
    cp = await ControlPlane.start({
      configPath: join(dir, 'mesh.yaml'),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    gateway = await startGateway({ port: cp.xdsPort }, ['--concurrency', '2'], 'default/edge');
    await waitReady(gateway);
  });

  after(async () => {
    gateway?.kill();
    await gateway?.exited;
    await cp?.close();
    await a?.close();
    await b?.close();
    passthrough?.close();
    ca?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('terminates with the certificate the SNI picks; the backend gets the cleartext', async () => {
    const got = await exchange(port, 'a.example.test', ca.rootPem, 'hello a\n');
    assert.equal(got.subject, 'a.example.test');
    assert.equal(got.fingerprint, new crypto.X509Certificate(certA.cert).fingerprint256);
    assert.equal(got.answer, 'backend-a:hello a\n');
    // No HTTP is offered on a stream listener (no ALPN), and the backend saw no TLS record.
    assert.equal(got.alpn, false);
    assert.equal(a.received().toString('latin1'), 'hello a\n');
    const viaB = await exchange(port, 'x.b.example.test', ca.rootPem, 'hello b\n');
    assert.equal(viaB.subject, 'b.example.test');
    assert.equal(viaB.answer, 'backend-b:hello b\n');
    assert.equal(b.received().toString('latin1'), 'hello b\n');
  });

  it('openssl s_client verifies the chosen certificate and the backend answers in the clear', async () => {
    const { stdout } = await run(
      'sh',
      [
        '-c',
        `printf 'over openssl bye\\n' | openssl s_client -quiet -ign_eof -connect 127.0.0.1:${port} -servername x.b.example.test -CAfile ${ca.rootFile} -verify_return_error -verify_hostname x.b.example.test 2>&1`,
      ],
      { timeout: 20_000 },
    );
    assert.match(stdout, /CN ?= ?b\.example\.test/);
    assert.match(stdout, /verify return:1/);
    assert.match(stdout, /backend-b:over openssl bye/);
    assert.match(b.received().toString('latin1'), /over openssl bye\n$/);
  });

  it('passes TLS through on the same port (mixed modes): the backend’s own certificate', async () => {
    const got = await exchange(port, 'c.example.test', ca.rootPem, 'through\n');
    assert.equal(got.subject, 'c.example.test');
    assert.equal(got.answer, 'through\n');
  });

  it('refuses a server name no route serves (no certificate is shown for it)', async () => {
    const err = await exchange(port, 'nobody.example.test', ca.rootPem, 'x').then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'the handshake must fail');
    assert.match(err.message, /socket disconnected|ECONNRESET|socket hang up/);
  });

  it('a replaced certificate file reaches new handshakes on every worker', async () => {
    const next = ca.issue('a.example.test');
    const fp = new crypto.X509Certificate(next.cert).fingerprint256;
    await writeCert('a', next);
    // Several handshakes in a row must all show it: the workers take connections in turn.
    let inARow = 0;
    await waitFor(
      'four handshakes in a row with the new certificate',
      async () => {
        const got = await exchange(port, 'a.example.test', ca.rootPem, 'again\n');
        inARow = got.fingerprint === fp ? inARow + 1 : 0;
        return inARow >= 4;
      },
      30_000,
      20,
    );
  });
});
