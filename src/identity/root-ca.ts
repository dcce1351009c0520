/**
 * A new self-signed ECDSA P-256 root, as Ferry makes one when the operator gives none:
 * ten years, as Istio's self-signed root, signing certificates and CRLs only. Returned as
 * PEM for whoever keeps it (the CA directory, the CA Secret).
 */
import { X509Certificate } from 'node:crypto';
import { generateP256, P256, privateKeyPem, x509 } from './x509.js';

const ROOT_TTL_MS = 10 * 365 * 86_400_000;

export interface RootPem {
  readonly certPem: string;
  readonly keyPem: string;
}

export async function makeRootCa(
  trustDomain: string,
  now: () => number = Date.now,
): Promise<RootPem> {
  const keys = await generateP256();
  const t = now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `O=${trustDomain.replace(/[,=+<>#;"\\]/g, '_')}, CN=Ferry root CA`,
    notBefore: new Date(t - 60_000),
    notAfter: new Date(t + ROOT_TTL_MS),
    keys,
    signingAlgorithm: P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: new X509Certificate(root.toString('pem')).toString(),
    keyPem: await privateKeyPem(keys.privateKey),
  };
}
