/**
 * The inbound port of a sidecar started without `--app-port` has no inbound configuration
 * (the control plane sends no inbound listener): it serves nothing, and it completes no TLS
 * handshake, so in a STRICT mesh a client without a certificate never gets one.
 *
 * Regression (issue 16): the inbound listener fell back to PERMISSIVE when the configuration
 * had no policy for its port, so a TLS client without a certificate completed a handshake
 * with a STRICT mesh's sidecar and was answered (404 NR).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { CA_FILES } from '../../../src/identity/index.js';
import { silentLogger } from '../../../src/log/index.js';
import type { MeshConfig } from '../../../src/mesh/index.js';
import { send } from '../../support/http-client.js';
import { mesh, service } from '../../support/mesh.js';
import { type SidecarProcess, startSidecarProcess } from '../../support/sidecar-process.js';

const STRICT = {
  loadBalancer: 'round_robin' as const,
  connectTimeoutMs: 1000,
  mtls: 'STRICT' as const,
};

/** What a TLS client got: whether its handshake completed, and what was answered. */
interface TlsOutcome {
  readonly handshake: boolean;
  readonly answer: string;
  readonly ended: string;
}

function tlsAttempt(
  port: number,
  creds: { key?: string; cert?: string; ca: string },
): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    let handshake = false;
    let answer = '';
    let settled = false;
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ...creds,
      ALPNProtocols: ['http/1.1'],
      checkServerIdentity: () => undefined,
    });
    const done = (ended: string) => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve({ handshake, answer, ended });
    };
    s.on('secureConnect', () => {
      handshake = true;
      s.write('GET / HTTP/1.1\r\nHost: web:8080\r\nConnection: close\r\n\r\n');
    });
    s.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    s.on('error', (e: NodeJS.ErrnoException) => done(`error ${e.code ?? e.message}`));
    s.on('close', () => done('closed'));
  });
}

/** `openssl s_client` as a shell user runs it: exit status and what it printed. */
function opensslAttempt(
  port: number,
  extra: readonly string[],
): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [
        '-c',
        `printf 'GET / HTTP/1.1\\r\\nHost: web:8080\\r\\nConnection: close\\r\\n\\r\\n' | timeout 10 openssl s_client -connect 127.0.0.1:${port} -tls1_3 ${extra.join(' ')} 2>&1`,
      ],
      { encoding: 'utf8', timeout: 15_000 },
      (err, stdout) =>
        resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}

/** A plaintext HTTP request: what came back before the connection closed. */
function plaintextAttempt(port: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = net.connect(port, '127.0.0.1', () =>
      s.write('GET / HTTP/1.1\r\nHost: web:8080\r\nConnection: close\r\n\r\n'),
    );
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

describe('sidecar data listeners: an inbound port without inbound configuration', function () {
  this.timeout(60_000);
  let dir: string;
  let cp: ControlPlane;
  let web: SidecarProcess;
  let creds: { key: string; cert: string; ca: string };
  let caFile: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-unconfigured-inbound-'));
    const base = mesh(service('web', 8080, 'http', [], { policy: STRICT }));
    const config: MeshConfig = { ...base, mesh: { ...base.mesh, mtls: 'STRICT' } };
    cp = await ControlPlane.start({
      config,
      xdsPort: 0,
      httpPort: 0,
      securePort: 0,
      caDir: dir,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    const identity = cp.identity;
    assert.ok(identity);
    const tokenFile = path.join(dir, 'token');
    writeFileSync(
      tokenFile,
      identity.tokens!.issue({ namespace: 'default', serviceAccount: 'web' }, 3_600_000),
    );
    const issued = await identity.ca.issueLocal(
      'spiffe://cluster.local/ns/default/sa/client',
      3_600_000,
      {},
    );
    caFile = path.join(dir, CA_FILES.root);
    creds = { key: issued.key, cert: issued.chain.join('\n'), ca: readFileSync(caFile, 'utf8') };
    writeFileSync(path.join(dir, 'client.key'), creds.key);
    writeFileSync(path.join(dir, 'client.crt'), creds.cert);
    // No --app-port: the workload serves nothing inbound.
    web = await startSidecarProcess([
      '--xds',
      `127.0.0.1:${cp.securePort}`,
      '--service',
      'web',
      '--service-account',
      'web',
      '--ca-root',
      caFile,
      '--token-file',
      tokenFile,
    ]);
  });

  after(async () => {
    await web?.kill();
    await cp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('completes no TLS handshake with a node TLS client without a certificate, and answers nothing', async () => {
    const got = await tlsAttempt(web.ports.inbound, { ca: creds.ca });
    console.log(
      `      no certificate: handshake ${got.handshake}, answer ${JSON.stringify(got.answer.split('\r\n')[0])}, ${got.ended}`,
    );
    assert.equal(got.handshake, false, 'the TLS handshake must not complete');
    assert.equal(got.answer, '');
  });

  it('serves nothing to a client with a valid certificate either', async () => {
    const got = await tlsAttempt(web.ports.inbound, creds);
    console.log(
      `      valid certificate: handshake ${got.handshake}, answer ${JSON.stringify(got.answer.split('\r\n')[0])}, ${got.ended}`,
    );
    assert.equal(got.answer, '', 'nothing is served');
  });

  it('gives openssl s_client without a certificate no handshake and no server certificate', async () => {
    const got = await opensslAttempt(web.ports.inbound, ['-CAfile', caFile]);
    console.log(
      `      openssl, no certificate: exit ${got.status}; ${got.stdout.split('\n').find((l) => /errno|error|alert/i.test(l)) ?? '(no error line)'}`,
    );
    assert.notEqual(got.status, 0);
    assert.doesNotMatch(got.stdout, /BEGIN CERTIFICATE/, 'the server presented no certificate');
    assert.doesNotMatch(got.stdout, /HTTP\/1\.1/, 'nothing was served');
    const withCert = await opensslAttempt(web.ports.inbound, [
      '-CAfile',
      caFile,
      '-cert',
      path.join(dir, 'client.crt'),
      '-key',
      path.join(dir, 'client.key'),
    ]);
    assert.doesNotMatch(withCert.stdout, /HTTP\/1\.1/, 'nothing was served with a certificate');
  });

  it('answers no plaintext request, and counts the refused connections', async () => {
    assert.equal(await plaintextAttempt(web.ports.inbound), '');
    const stats = JSON.parse(
      (await send(web.ports.admin, { path: '/stats?format=json' })).body,
    ) as Record<string, number>;
    assert.ok(
      stats.inboundUnconfigured >= 5,
      `refused connections counted (inboundUnconfigured ${stats.inboundUnconfigured})`,
    );
    const prom = (await send(web.ports.metrics, { path: '/stats/prometheus' })).body;
    assert.match(prom, /^ferry_proxy_inbound_unconfigured_total [1-9]\d*$/m);
  });
});
