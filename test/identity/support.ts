/**
 * Helpers for the identity tests: temporary CA directories, a CA with its token issuer,
 * an identity service on a real gRPC socket, and a logger whose output a test can read.
 */
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import {
  buildCsr,
  CertificateAuthority,
  checkCsr,
  IdentityService,
  loadCaDirectory,
  loadOrCreateTokenKey,
  uriSans,
  WorkloadTokens,
} from '../../src/identity/index.js';
import { type Logger, silentLogger } from '../../src/log/index.js';
import { MetricsRegistry } from '../../src/metrics/index.js';

export const TD = 'cluster.local';

export function tempDir(prefix = 'ferry-ca-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger writing JSON lines into `lines`. */
export function capturingLogger(): { log: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: 'trace' }, sink), lines, text: () => lines.join('') };
}

export async function caInDir(
  dir: string,
  options: { certTtlMs?: number; now?: () => number } = {},
): Promise<{ ca: CertificateAuthority; tokens: WorkloadTokens }> {
  const loaded = await loadCaDirectory(dir, { trustDomain: TD, log: silentLogger() });
  const ca = new CertificateAuthority(loaded.material, { trustDomain: TD, ...options });
  return { ca, tokens: new WorkloadTokens(loadOrCreateTokenKey(dir)) };
}

export interface RunningIdentityService {
  readonly address: string;
  readonly metrics: MetricsRegistry;
  close(): Promise<void>;
}

/** The identity service alone on a real gRPC port (plaintext). */
export async function serveIdentity(
  ca: CertificateAuthority,
  tokens: WorkloadTokens,
  log: Logger = silentLogger(),
  allowPlaintext = true,
): Promise<RunningIdentityService> {
  const metrics = new MetricsRegistry();
  const server = new grpc.Server();
  // Plaintext, allowed by default: these tests are about what is signed, not the transport.
  new IdentityService({ ca, verifier: tokens, metrics, log, allowPlaintext }).register(
    server,
    'plaintext',
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    metrics,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** The value of ferry_identity_csr_total{result=...} in the registry's exposition. */
export function csrCount(metrics: MetricsRegistry, result: string): number {
  const m = metrics
    .render()
    .match(new RegExp(`^ferry_identity_csr_total\\{result="${result}"\\} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : 0;
}

/** A key made here and a leaf the CA signs for `spiffeId` (as the service would). */
export async function leafFor(
  ca: CertificateAuthority,
  spiffeId: string,
  ttlMs?: number,
): Promise<{ key: string; chain: string; roots: string; leaf: X509Certificate }> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await checkCsr(await buildCsr(keys, spiffeId));
  const issued = await ca.sign(csr, spiffeId, ttlMs);
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
  return {
    key,
    chain: issued.chain.join('\n'),
    roots: issued.roots.join('\n'),
    leaf: new X509Certificate(issued.chain[0] as string),
  };
}

export interface Side {
  readonly key: string;
  readonly chain: string;
  readonly roots: string;
}

/**
 * A real mutual TLS 1.3 handshake on 127.0.0.1: the server asks for and verifies the
 * client certificate, the client verifies the server's and checks its URI SAN is
 * `expectServer`. Resolves with the URI SANs each side saw, or rejects with the error.
 */
export async function mtlsHandshake(
  server: Side,
  client: Side,
  expectServer: string,
): Promise<{ clientSaw: string[]; serverSaw: string[] }> {
  let serverSaw: string[] = [];
  const srv = tls.createServer(
    {
      key: server.key,
      cert: server.chain,
      ca: server.roots,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket) => {
      serverSaw = uriSans(socket.getPeerCertificate());
      socket.end('ok');
    },
  );
  srv.on('tlsClientError', () => {});
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  try {
    return await new Promise((resolve, reject) => {
      let clientSaw: string[] = [];
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        key: client.key,
        cert: client.chain,
        ca: client.roots,
        minVersion: 'TLSv1.3',
        checkServerIdentity: (_host, cert) => {
          clientSaw = uriSans(cert);
          return clientSaw.includes(expectServer)
            ? undefined
            : new Error(`server is ${clientSaw.join()}, expected ${expectServer}`);
        },
      });
      let body = '';
      socket.on('data', (d) => {
        body += String(d);
      });
      socket.on('end', () =>
        body === 'ok'
          ? resolve({ clientSaw, serverSaw })
          : reject(new Error('the server closed the connection')),
      );
      socket.on('error', reject);
    });
  } finally {
    srv.close();
  }
}
