/**
 * Certificate signing requests (PKCS#10, RFC 2986): built by the workload with its own
 * key, checked by the CA before anything is signed.
 */
import { createPublicKey } from 'node:crypto';
import { IdentityError } from './identity-error.js';
import { type CryptoKeyPair, isP256, P256, x509 } from './x509.js';

/**
 * A CSR signed with the workload's key (only the public half is inside), asking for
 * `spiffeId` when given (the identity service decides in any case).
 */
export async function buildCsr(keys: CryptoKeyPair, spiffeId?: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: P256,
    extensions: spiffeId
      ? [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])]
      : [],
  });
  return csr.toString('pem');
}

export interface CheckedCsr {
  readonly publicKey: x509.PublicKey;
  /** URI SANs the CSR asks for (may be empty). */
  readonly uris: readonly string[];
}

/**
 * Parses and checks a PEM CSR: well formed, an ECDSA P-256 key, and signed by that key
 * (proof that the requester holds it). Throws FERRY_CSR_* otherwise.
 */
export async function checkCsr(pem: string): Promise<CheckedCsr> {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE REQUEST-----'))
    throw new IdentityError('FERRY_CSR_MALFORMED', 'the CSR is not a PEM certificate request');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (err) {
    throw new IdentityError(
      'FERRY_CSR_MALFORMED',
      `the CSR cannot be parsed: ${(err as Error).message}`,
    );
  }
  let keyOk = false;
  try {
    keyOk = isP256(
      createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' }),
    );
  } catch {
    keyOk = false;
  }
  if (!keyOk)
    throw new IdentityError(
      'FERRY_CSR_KEY_TYPE',
      'the CSR key is not ECDSA P-256 (the only key type Ferry issues for)',
    );
  let signed = false;
  try {
    signed = await csr.verify();
  } catch {
    signed = false;
  }
  if (!signed) throw new IdentityError('FERRY_CSR_SIGNATURE', 'the CSR signature does not verify');
  // id-ce-subjectAltName, RFC 5280 4.2.1.6
  const ext = csr.getExtension('2.5.29.17');
  const san = ext ? new x509.SubjectAlternativeNameExtension(ext.rawData) : undefined;
  const uris = san ? san.names.items.filter((n) => n.type === 'url').map((n) => n.value) : [];
  return { publicKey: csr.publicKey, uris };
}
