/**
 * What /certs shows of the workload's certificates: for each one in the chain and each
 * trusted root, who it names, who issued it, its serial and validity. Never key material.
 * (Envoy's /certs carries the same facts: serial_number, subject_alt_names, valid_from,
 * expiration_time.)
 */
import { X509Certificate } from 'node:crypto';

export interface CertificateInfo {
  /** URI SANs (SPIFFE IDs), else the subject. */
  readonly identity: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM bundle, in order; unreadable blocks are skipped. */
export function describePem(pem: string): CertificateInfo[] {
  const out: CertificateInfo[] = [];
  for (const block of pem.match(PEM_BLOCK) ?? []) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      continue;
    }
    const uris = (cert.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('URI:'))
      .map((s) => s.slice(4));
    const subject = (cert.subject ?? '').replace(/\n/g, ', ');
    out.push({
      identity: uris.join(', ') || subject,
      subject,
      issuer: (cert.issuer ?? '').replace(/\n/g, ', '),
      serial: cert.serialNumber,
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
    });
  }
  return out;
}
