/**
 * The secure contexts of a gateway's HTTPS chains, built from SDS secrets once per secret
 * version, never per connection. A connection takes the context in force when its ClientHello
 * arrives and keeps it: a new version of a secret (a certificate file replaced, a Kubernetes
 * Secret updated) reaches new handshakes only, and nothing in flight is disturbed.
 */
import tls from 'node:tls';
import type { envoy } from '../../xds/index.js';
import type { ResourceEntry } from '../../xds-client/index.js';
import { GatewayConfigError } from './gateway-error.js';

/** A DataSource's text (inline_bytes arrive base64-encoded from the decoder). */
function text(source: envoy.DataSource | undefined): string {
  if (source?.inline_string) return source.inline_string;
  if (source?.inline_bytes) return Buffer.from(source.inline_bytes, 'base64').toString('utf8');
  return '';
}

/** The PEM key and chain of a secret; throws a GatewayConfigError when it has none. */
export function secretPem(value: object): { readonly key: string; readonly cert: string } {
  const secret = value as envoy.Secret;
  const cert = text(secret.tls_certificate?.certificate_chain);
  const key = text(secret.tls_certificate?.private_key);
  if (!cert || !key)
    throw new GatewayConfigError(
      'FERRY_GATEWAY_SECRET',
      `secret ${secret.name ?? ''}`,
      'has no certificate (it did not arrive, or has no tls_certificate)',
    );
  return { key, cert };
}

/** Checks that a secret's key and chain load and belong together (the SDS validate hook). */
export function checkSecret(value: object): void {
  const pem = secretPem(value);
  try {
    tls.createSecureContext({ key: pem.key, cert: pem.cert });
  } catch (err) {
    throw new GatewayConfigError(
      'FERRY_GATEWAY_SECRET',
      `secret ${(value as envoy.Secret).name ?? ''}`,
      `its certificate and key do not load: ${(err as Error).message}`,
    );
  }
}

export class SecretContexts {
  /** By the secret names of a chain (joined), with the entries they were built from. */
  private built = new Map<string, { entries: ResourceEntry[]; context: tls.SecureContext }>();

  /**
   * The contexts for these chains' secret sets, reusing those whose entries are the same
   * objects as last time (the xDS client keeps an unchanged resource's entry). A set with a
   * secret missing or unusable maps to undefined: its chain refuses handshakes.
   */
  update(
    sets: Iterable<readonly string[]>,
    secrets: ReadonlyMap<string, ResourceEntry>,
    problem: (names: readonly string[], err: Error) => void,
  ): ReadonlyMap<string, tls.SecureContext | undefined> {
    const next = new Map<string, { entries: ResourceEntry[]; context: tls.SecureContext }>();
    const out = new Map<string, tls.SecureContext | undefined>();
    for (const names of sets) {
      const key = names.join('\n');
      if (out.has(key)) continue;
      const entries = names.map((n) => secrets.get(n)).filter((e) => e !== undefined);
      const before = this.built.get(key);
      if (
        before &&
        entries.length === names.length &&
        before.entries.every((e, i) => e === entries[i])
      ) {
        next.set(key, before);
        out.set(key, before.context);
        continue;
      }
      try {
        if (entries.length !== names.length)
          throw new Error(`secret ${names.find((n) => !secrets.has(n))} is not there`);
        const pems = entries.map((e) => secretPem(e.value));
        // One context of every certificate the chain names (e.g. RSA and ECDSA): OpenSSL
        // picks the one the client's signature algorithms allow.
        const context = tls.createSecureContext({
          key: pems.map((p) => p.key),
          cert: pems.map((p) => p.cert),
        });
        next.set(key, { entries, context });
        out.set(key, context);
      } catch (err) {
        problem(names, err as Error);
        out.set(key, undefined);
      }
    }
    this.built = next;
    return out;
  }
}

/** The key SecretContexts.update() files a chain's set under. */
export function secretSetKey(names: readonly string[]): string {
  return names.join('\n');
}
