/**
 * A certificate authority for tests of the data path's mTLS: a P-256 root and leaves with a
 * SPIFFE URI SAN, made with @peculiar/x509 and node's WebCrypto, plus a certificate source a
 * test can rotate. (The control plane's own CA is tested in test/identity.)
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

import * as x509 from '@peculiar/x509';
import type { CertificateSource, WorkloadCertificate } from '../../src/proxy/tls/index.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

export class TestCa {
  private constructor(
    private readonly keys: CryptoKeyPair,
    readonly root: x509.X509Certificate,
  ) {}

  static async create(name = 'Ferry test root'): Promise<TestCa> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
      ],
    });
    return new TestCa(keys, root);
  }

  get rootPem(): string {
    return this.root.toString('pem');
  }

  /** A workload certificate for `spiffeId` (key, chain, trust bundle). */
  async issue(spiffeId: string, ttlMs = 3_600_000): Promise<WorkloadCertificate> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
      subject: '',
      issuer: this.root.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + ttlMs),
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension(
          [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
          false,
        ),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true),
      ],
    });
    const key = pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    return { key, chain: leaf.toString('pem'), roots: this.rootPem };
  }
}

/** A certificate source whose certificate a test sets (and rotates) by hand. */
export class ManualCertificates implements CertificateSource {
  private cert: WorkloadCertificate | undefined;
  private readonly listeners = new Set<() => void>();
  constructor(first?: WorkloadCertificate) {
    this.cert = first;
  }
  current(): WorkloadCertificate | undefined {
    return this.cert;
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(cert: WorkloadCertificate): void {
    this.cert = cert;
    for (const l of this.listeners) l();
  }
}
