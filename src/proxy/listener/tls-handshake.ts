import type net from 'node:net';
import type tls from 'node:tls';

/** A TLS client that has not sent its ClientHello or finished its handshake by then is cut off. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * A server-side TLSSocket made by hand over an accepted socket (not by tls.Server) gets what
 * tls.Server would give it: a handshake deadline, and a failed handshake ends both the TLS
 * socket and the TCP socket under it. `onSecure` runs once the handshake is done.
 */
export function guardHandshake(
  secure: tls.TLSSocket,
  socket: net.Socket,
  onSecure: () => void,
): void {
  const timer = setTimeout(() => secure.destroy(), HANDSHAKE_TIMEOUT_MS);
  secure.on('error', () => {
    secure.destroy();
    socket.destroy();
  });
  secure.once('secure', () => {
    clearTimeout(timer);
    // What tls.Server sets once the handshake is done (lib/_tls_wrap.js): node's HTTP/2
    // session waits for a 'secureConnect' that a server-side socket never emits while this
    // is true, so an HTTP/2 session made on this socket would never be set up.
    (secure as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
    onSecure();
  });
  secure.once('close', () => clearTimeout(timer));
}

/**
 * Whether the client's certificate, if it sent one, verified against the trust bundle. A
 * TLSSocket made by hand (not by tls.Server) checks nothing beyond OpenSSL's "a certificate
 * is required": the chain and dates of a certificate the client did send are checked here,
 * from the handshake's verify result, as tls.Server does.
 */
export function peerVerified(secure: tls.TLSSocket): boolean {
  const handle = (secure as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return false; // cannot tell: refuse
  if (handle.verifyError() === null) return true;
  // No certificate at all is not a verification failure (PERMISSIVE serves it; a required
  // certificate was refused by OpenSSL already).
  const peer = secure.getPeerCertificate();
  return !peer || Object.keys(peer).length === 0;
}
