/**
 * The accepted TCP socket under a connection's layers. The listener wraps it (a TLS socket,
 * a socket with its first bytes put back, an HTTP/2 session); each wrapper carries the TCP
 * socket under this symbol, so what was learnt about the connection when it was accepted
 * (its original destination) is found again from a request, at the cost of a property read
 * or two. (An HTTP/2 request's `socket` is a proxy of what node wrapped the connection in,
 * which leads nowhere: its session carries the TCP socket instead.)
 */
import type net from 'node:net';

export const RAW_SOCKET = Symbol('ferry.listener.raw-socket');

type Carrier = { [RAW_SOCKET]?: net.Socket };

/** Marks `wrapper` as running over `inner` (itself a TCP socket or a wrapper of one). */
export function carryRawSocket(wrapper: object, inner: object): void {
  (wrapper as Carrier)[RAW_SOCKET] = (inner as Carrier)[RAW_SOCKET] ?? (inner as net.Socket);
}

/** The TCP socket under `socket` (which may be it). */
export function rawSocket(socket: object): net.Socket {
  return (socket as Carrier)[RAW_SOCKET] ?? (socket as net.Socket);
}

/** The TCP socket a request (HTTP/1.1 or HTTP/2) arrived on, if it can be told. */
export function requestRawSocket(req: {
  readonly socket?: object | null;
  readonly stream?: { readonly session?: object };
}): net.Socket | undefined {
  const carrier = req.stream?.session ?? req.socket;
  return carrier ? rawSocket(carrier) : undefined;
}
