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
    onSecure();
  });
  secure.once('close', () => clearTimeout(timer));
}
