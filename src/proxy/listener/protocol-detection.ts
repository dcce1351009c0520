/**
 * Protocol detection from a connection's first bytes, shared by the inbound and outbound
 * listeners: TLS (a handshake record), HTTP/2 with prior knowledge (its client preface, RFC
 * 9113 §3.4) and HTTP/1.1 (a request line, RFC 9112 §3) are told apart; anything else, or
 * silence for DETECTION_TIMEOUT_MS (a server-first protocol: MySQL, SMTP), is opaque TCP.
 * Well-known server-first ports skip detection altogether, as Linkerd's opaque ports do.
 * https://linkerd.io/2/features/protocol-detection/
 */
import type net from 'node:net';

export type DetectedProtocol = 'tls' | 'http2' | 'http1' | 'opaque';

/** The first byte of a TLS handshake record. */
export const TLS_HANDSHAKE = 0x16;

/** How long a connection may stay silent before it counts as a server-first protocol. */
export const DETECTION_TIMEOUT_MS = 100;

/**
 * Ports whose protocols speak first or are not HTTP, where waiting for the client would only
 * delay them: Linkerd's default opaque ports (SMTP, submission, MySQL, the Galera SST port,
 * PostgreSQL, Redis, Elasticsearch transport, memcached).
 */
export const DEFAULT_OPAQUE_PORTS: readonly number[] = [
  25, 587, 3306, 4444, 5432, 6379, 9300, 11211,
];

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Whether `chunk` starts like the HTTP/2 client preface (as far as it goes). */
export function isHttp2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, PREFACE.length);
  return n > 0 && chunk.compare(PREFACE, 0, n, 0, n) === 0;
}

const SPACE = 0x20;
const MAX_METHOD = 20;

/** A method token (RFC 9110 §9: a token; in practice upper-case letters) and a space. */
function startsWithMethod(chunk: Buffer): boolean {
  const end = Math.min(chunk.length, MAX_METHOD + 1);
  for (let i = 0; i < end; i++) {
    const c = chunk[i]!;
    if (c === SPACE) return i > 0;
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return false;
  }
  return false;
}

/** What the first bytes of a connection are. */
export function detectProtocol(first: Buffer): DetectedProtocol {
  if (first.length === 0) return 'opaque';
  if (first[0] === TLS_HANDSHAKE) return 'tls';
  if (isHttp2Preface(first)) return 'http2';
  if (startsWithMethod(first)) return 'http1';
  return 'opaque';
}

/**
 * The Host header of the HTTP/1.1 request head in `first`, lower-cased, or undefined when the
 * head is not all there or has no Host. Reads only what came in the first bytes.
 */
export function requestHost(first: Buffer): string | undefined {
  const end = first.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = first.toString('latin1', 0, end);
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon === 4 && line.slice(0, 4).toLowerCase() === 'host') {
      return line.slice(5).trim().toLowerCase() || undefined;
    }
  }
  return undefined;
}

/**
 * Calls `done` once with the connection's first chunk, or with an empty buffer when the peer
 * said nothing for `timeoutMs` (or closed). The chunk is consumed: `done` must pass it on.
 */
export function readFirstBytes(
  socket: net.Socket,
  timeoutMs: number,
  done: (first: Buffer) => void,
): void {
  let called = false;
  const finish = (first: Buffer) => {
    if (called) return;
    called = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    done(first);
  };
  // `done` runs within the 'data' event, so it can take over the socket before more arrives.
  const onData = (chunk: Buffer) => finish(chunk);
  const onEnd = () => finish(Buffer.alloc(0));
  const timer = setTimeout(() => finish(Buffer.alloc(0)), timeoutMs);
  socket.on('data', onData);
  socket.once('end', onEnd);
}
