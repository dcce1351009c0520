/**
 * A workload's certificate as it holds it: the private key (PEM, for TLS), the chain and
 * the trust bundle. The key is readable by code that asks for `.key` and by nothing
 * else: JSON, util.inspect and string conversion show it as redacted, so a config dump,
 * a log line or an error that carries this object cannot leak it.
 */
import { X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

export class IssuedCertificate {
  readonly #key: string;
  /** PEM, leaf first (as TLS `cert` takes it). */
  readonly chain: string;
  /** PEM roots (as TLS `ca` takes it). */
  readonly roots: string;
  readonly chainPems: readonly string[];
  readonly rootPems: readonly string[];
  readonly spiffeId: string | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialNumber: string;

  constructor(key: string, chain: readonly string[], roots: readonly string[]) {
    this.#key = key;
    this.chainPems = Object.freeze([...chain]);
    this.rootPems = Object.freeze([...roots]);
    this.chain = chain.join('\n');
    this.roots = roots.join('\n');
    const leaf = new X509Certificate(chain[0] ?? '');
    this.notBefore = new Date(leaf.validFrom);
    this.notAfter = new Date(leaf.validTo);
    this.serialNumber = leaf.serialNumber;
    this.spiffeId = uriSans(leaf)[0];
    Object.freeze(this);
  }

  /** The private key, PEM (PKCS#8). */
  get key(): string {
    return this.#key;
  }

  toJSON(): object {
    return {
      spiffeId: this.spiffeId,
      serialNumber: this.serialNumber,
      notBefore: this.notBefore.toISOString(),
      notAfter: this.notAfter.toISOString(),
      chain: this.chainPems,
      roots: this.rootPems,
      key: REDACTED,
    };
  }

  toString(): string {
    return `IssuedCertificate(${this.spiffeId ?? '?'}, until ${this.notAfter.toISOString()})`;
  }

  [inspect.custom](): string {
    return `IssuedCertificate ${inspect(this.toJSON())}`;
  }
}

/** The URI SANs of a certificate (node's `subjectAltName` text, parsed). */
export function uriSans(cert: X509Certificate | { subjectaltname?: string }): string[] {
  const text =
    cert instanceof X509Certificate ? (cert.subjectAltName ?? '') : (cert.subjectaltname ?? '');
  const out: string[] = [];
  // Entries are "TYPE:value" separated by ", "; node quotes a value holding a separator.
  for (const m of text.matchAll(/(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = m[1] ?? '';
    out.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return out;
}
