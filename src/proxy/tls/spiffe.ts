/**
 * SPIFFE identities in X.509 certificates: the URI SAN `spiffe://<trust domain>/<path>`
 * (https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md). Peers are checked
 * against these, not against DNS names, as Istio does.
 */

import type { PeerCertificate, TLSSocket } from 'node:tls';
import { FerryError } from '../../errors/index.js';

/** The SPIFFE IDs among a certificate's subjectAltName entries ("URI:spiffe://..."). */
export function spiffeIds(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const ids: string[] = [];
  for (const part of subjectAltName.split(', ')) {
    if (part.startsWith('URI:spiffe://')) ids.push(part.slice(4));
  }
  return ids;
}

/**
 * A checkServerIdentity for tls.connect that accepts a server whose certificate (already
 * verified against the trust bundle) carries one of `allowed`; built once per cluster.
 * An empty list accepts any identity from the trust domain's CA.
 */
/** The upstream's certificate names no identity the cluster accepts. */
const NOT_ALLOWED = 'FERRY_UPSTREAM_IDENTITY_REFUSED';

export function spiffeVerifier(
  allowed: readonly string[],
): (host: string, cert: PeerCertificate) => Error | undefined {
  const set = new Set(allowed);
  return (_host, cert) => {
    const ids = spiffeIds(cert.subjectaltname);
    if (ids.length === 0)
      return new FerryError(NOT_ALLOWED, 'upstream certificate has no SPIFFE ID');
    if (set.size === 0 || ids.some((id) => set.has(id))) return undefined;
    return new FerryError(
      NOT_ALLOWED,
      `upstream identity ${ids.join(', ')} is not one of ${[...set].join(', ')}`,
    );
  };
}

const PRINCIPAL = Symbol('ferry.tls.principal');
type Tagged = TLSSocket & { [PRINCIPAL]?: string | null };

/** The peer's SPIFFE ID on an mTLS connection (looked up once per connection), else undefined. */
export function peerPrincipal(socket: TLSSocket): string | undefined {
  const tagged = socket as Tagged;
  let id = tagged[PRINCIPAL];
  if (id === undefined) {
    const cert = socket.getPeerCertificate?.();
    id = (cert && spiffeIds(cert.subjectaltname)[0]) ?? null;
    tagged[PRINCIPAL] = id;
  }
  return id ?? undefined;
}

/** The peer's SPIFFE ID when `socket` is an mTLS connection, else undefined. */
export function socketPrincipal(socket: unknown): string | undefined {
  const s = socket as TLSSocket | undefined;
  return s?.encrypted ? peerPrincipal(s) : undefined;
}

/** On an HTTP/2 session over TLS: the TLS socket it runs on (set by the listener). */
export const TLS_PEER = Symbol('ferry.tls.peer');

/**
 * The peer's SPIFFE ID for a request (HTTP/1.1 or HTTP/2) or a socket. HTTP/2 requests
 * reach their TLS socket through their session, which the listener tags: node's HTTP/2
 * server wraps the socket it is given, so `req.socket` does not lead back to it.
 */
export function requestPrincipal(downstream: unknown): string | undefined {
  const d = downstream as {
    stream?: { session?: { [TLS_PEER]?: TLSSocket } };
    socket?: unknown;
  };
  const session = d?.stream?.session;
  if (session) {
    const peer = session[TLS_PEER];
    return peer ? peerPrincipal(peer) : undefined;
  }
  return socketPrincipal(d?.socket ?? downstream);
}
