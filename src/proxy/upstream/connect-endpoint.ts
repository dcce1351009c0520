/**
 * Opening a connection to an endpoint: plain TCP, or mutual TLS with the workload's current
 * certificate and a SPIFFE check of the peer when the endpoint runs a sidecar (and the
 * sidecar has a certificate). Shared by the HTTP/1.1 pool, upgrades and the TCP proxy.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { UpstreamTls } from './upstream-pools.js';

export interface EndpointConnection {
  readonly socket: net.Socket;
  /** The event after which the connection is usable: 'secureConnect' for TLS. */
  readonly ready: 'connect' | 'secureConnect';
}

/**
 * `onread`, for plain TCP only: the bytes are read into its buffer and handed to its
 * callback instead of being emitted as 'data' (no allocation per read); a TLS socket
 * still emits 'data'.
 */
export function connectEndpoint(
  address: string,
  port: number,
  secure: UpstreamTls | undefined,
  alpn?: readonly string[],
  onread?: net.OnReadOpts,
): EndpointConnection {
  const context = secure?.context();
  if (secure && context) {
    const socket = tls.connect({
      host: address,
      port,
      secureContext: context,
      ...(alpn ? { ALPNProtocols: [...alpn] } : {}),
      servername: secure.servername,
      checkServerIdentity: secure.verify,
    });
    socket.setNoDelay(true);
    return { socket, ready: 'secureConnect' };
  }
  const options: net.NetConnectOpts = onread
    ? { host: address, port, noDelay: true, onread }
    : { host: address, port, noDelay: true };
  return { socket: net.connect(options), ready: 'connect' };
}
