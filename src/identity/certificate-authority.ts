/**
 * The mesh's certificate authority: signs workload certificates (X.509-SVIDs) with the CA
 * key it holds, for an identity decided by the caller (the identity service, after the
 * credential check), never by the CSR alone.
 * X.509-SVID: https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md
 */
import { type X509Certificate as NodeCertificate, randomBytes, webcrypto } from 'node:crypto';
import type { CheckedCsr } from './csr.js';
import { type CryptoKey, generateP256, privateKeyPem, x509 } from './x509.js';

/** The CA's key material: the CA certificate, the key that signs, what sits above it. */
export interface CaMaterial {
  /** The CA certificate (a root, or an intermediate under the operator's root). */
  readonly cert: NodeCertificate;
  readonly signingKey: CryptoKey;
  readonly signingAlgorithm: { name: string; hash?: string; namedCurve?: string };
  /** PEM certificates between the CA certificate and the root (root excluded). */
  readonly intermediates: readonly string[];
  /** PEM roots workloads trust. */
  readonly roots: readonly string[];
}

export interface CaOptions {
  readonly trustDomain: string;
  /** Leaf lifetime; default 24 h. */
  readonly certTtlMs?: number;
  readonly now?: () => number;
}

export interface IssuedChain {
  /** PEM, leaf first, then intermediates (never the root). */
  readonly chain: readonly string[];
  readonly roots: readonly string[];
  readonly notAfter: Date;
}

export const DEFAULT_CERT_TTL_MS = 24 * 3_600_000;
/** Leaves start a little in the past, so that a peer whose clock lags still accepts them. */
const BACKDATE_MS = 60_000;

export class CertificateAuthority {
  readonly trustDomain: string;
  readonly certTtlMs: number;
  private readonly now: () => number;
  private readonly caCert: x509.X509Certificate;

  constructor(
    private readonly material: CaMaterial,
    options: CaOptions,
  ) {
    this.trustDomain = options.trustDomain;
    this.certTtlMs = options.certTtlMs ?? DEFAULT_CERT_TTL_MS;
    this.now = options.now ?? Date.now;
    this.caCert = new x509.X509Certificate(material.cert.raw);
  }

  /** The trust bundle: root PEMs. */
  get roots(): readonly string[] {
    return this.material.roots;
  }

  /** When the CA certificate itself expires (no leaf outlives it). */
  get notAfter(): Date {
    return this.caCert.notAfter;
  }

  /**
   * Signs a leaf for `spiffeId` with the CSR's (already checked) public key. The lifetime
   * is the CA's, or `ttlMs` if shorter, and never past the CA certificate's own end.
   */
  async sign(
    csr: CheckedCsr,
    spiffeId: string,
    ttlMs?: number,
    extra: { dns?: readonly string[]; ips?: readonly string[] } = {},
  ): Promise<IssuedChain> {
    return this.issue(csr.publicKey, spiffeId, ttlMs, extra);
  }

  /**
   * A key and certificate made here, for the control plane's own serving identity (its
   * key never leaves this process either).
   */
  async issueLocal(
    spiffeId: string,
    ttlMs: number | undefined,
    extra: { dns?: readonly string[]; ips?: readonly string[] },
  ): Promise<IssuedChain & { key: string }> {
    const keys = await generateP256();
    const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
    const issued = await this.issue(new x509.PublicKey(spki), spiffeId, ttlMs, extra);
    return { ...issued, key: await privateKeyPem(keys.privateKey) };
  }

  private async issue(
    publicKey: x509.PublicKey,
    spiffeId: string,
    ttlMs: number | undefined,
    extra: { dns?: readonly string[]; ips?: readonly string[] },
  ): Promise<IssuedChain> {
    const now = this.now();
    const ttl = Math.min(ttlMs && ttlMs > 0 ? ttlMs : this.certTtlMs, this.certTtlMs);
    const notAfter = new Date(Math.min(now + ttl, this.caCert.notAfter.getTime()));
    const notBefore = new Date(now - Math.min(BACKDATE_MS, ttl / 10));
    // RFC 5280 4.1.2.2: positive, at most 20 octets; 128 random bits.
    const serial = randomBytes(16);
    serial[0] = (serial[0] ?? 0) & 0x7f;
    const names: x509.JsonGeneralName[] = [{ type: 'url', value: spiffeId }];
    for (const d of extra.dns ?? []) names.push({ type: 'dns', value: d });
    for (const ip of extra.ips ?? []) names.push({ type: 'ip', value: ip });
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial.toString('hex'),
      // X.509-SVID: the identity is the URI SAN; the subject may be empty, and then the
      // SAN extension must be critical (RFC 5280 4.2.1.6).
      subject: '',
      issuer: this.caCert.subject,
      notBefore,
      notAfter,
      publicKey,
      signingKey: this.material.signingKey,
      signingAlgorithm: this.material.signingAlgorithm,
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
        new x509.SubjectAlternativeNameExtension(names, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.caCert),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
      ],
    });
    const caPem = this.material.cert.toString();
    const chain = [leaf.toString('pem')];
    // The CA certificate goes in the chain unless it is the root the peer already trusts.
    if (!this.material.roots.includes(caPem)) chain.push(caPem, ...this.material.intermediates);
    return { chain, roots: this.material.roots, notAfter };
  }
}
