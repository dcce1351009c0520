/**
 * Envoy's tls_inspector, for the gateway and the sidecar's outbound listener: the server
 * name (SNI) of a TLS ClientHello, read from a connection's first bytes without terminating
 * anything, so a filter chain can be chosen by it (HTTPS with the SNI's certificate, TLS
 * passed through untouched, or an app's TLS sent on to the egress gateway).
 * Record layer: RFC 8446 §5.1; ClientHello: §4.1.2; server_name extension: RFC 6066 §3.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/listeners/listener_filters/tls_inspector
 */
import type net from 'node:net';

const HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME_EXTENSION = 0x0000;
const HOST_NAME = 0x00;
/** Envoy's tls_inspector reads at most this much (its max_client_hello_size default). */
export const MAX_CLIENT_HELLO_BYTES = 16_384;

export type HelloParse =
  /** The bytes so far end inside the ClientHello. */
  | { readonly kind: 'partial' }
  /** Not a TLS ClientHello (plaintext, or garbage). */
  | { readonly kind: 'not-tls' }
  /** A complete ClientHello; `sni` undefined when it names no server. */
  | { readonly kind: 'hello'; readonly sni: string | undefined };

const PARTIAL: HelloParse = { kind: 'partial' };
const NOT_TLS: HelloParse = { kind: 'not-tls' };

/**
 * The handshake bytes of the records at the start of `bytes` (a ClientHello may span records),
 * or undefined when a record is not a handshake record.
 */
function handshakeBytes(bytes: Buffer): { data: Buffer; complete: boolean } | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  let needed = -1;
  let have = 0;
  while (at + 5 <= bytes.length) {
    if (bytes[at] !== HANDSHAKE_RECORD || bytes[at + 1] !== 0x03) return undefined;
    const length = bytes.readUInt16BE(at + 3);
    if (at + 5 + length > bytes.length) break;
    parts.push(bytes.subarray(at + 5, at + 5 + length));
    have += length;
    at += 5 + length;
    if (needed < 0 && have >= 4) {
      const head = Buffer.concat(parts);
      needed = 4 + head.readUIntBE(1, 3);
    }
    if (needed >= 0 && have >= needed) return { data: Buffer.concat(parts), complete: true };
  }
  return { data: Buffer.concat(parts), complete: false };
}

/** Reads the ClientHello at the start of `bytes`, as far as it has arrived. */
export function parseClientHello(bytes: Buffer): HelloParse {
  if (bytes.length === 0) return PARTIAL;
  if (bytes[0] !== HANDSHAKE_RECORD) return NOT_TLS;
  if (bytes.length >= 2 && bytes[1] !== 0x03) return NOT_TLS;
  const hs = handshakeBytes(bytes);
  if (!hs) return NOT_TLS;
  if (hs.data.length >= 1 && hs.data[0] !== CLIENT_HELLO) return NOT_TLS;
  if (!hs.complete) return PARTIAL;
  try {
    return { kind: 'hello', sni: serverName(hs.data) };
  } catch {
    return NOT_TLS; // a malformed ClientHello: no chain can take it
  }
}

/** The host_name in a complete ClientHello handshake message (throws when it is malformed). */
function serverName(hello: Buffer): string | undefined {
  let at = 4 + 2 + 32; // handshake header, legacy_version, random
  const skip = (lengthBytes: number) => {
    const n = hello.readUIntBE(at, lengthBytes);
    at += lengthBytes + n;
    if (at > hello.length) throw new RangeError('ClientHello field beyond its end');
  };
  skip(1); // legacy_session_id
  skip(2); // cipher_suites
  skip(1); // legacy_compression_methods
  if (at + 2 > hello.length) return undefined; // no extensions
  const end = Math.min(hello.length, at + 2 + hello.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    const body = at + 4;
    at = body + length;
    if (type !== SERVER_NAME_EXTENSION) continue;
    let p = body + 2; // server_name_list length
    while (p + 3 <= body + length) {
      const nameType = hello[p];
      const n = hello.readUInt16BE(p + 1);
      if (nameType === HOST_NAME) {
        // Host names compare case-insensitively (RFC 6066 §3); a trailing dot is not sent.
        return hello.toString('ascii', p + 3, p + 3 + n).toLowerCase();
      }
      p += 3 + n;
    }
  }
  return undefined;
}

/**
 * Reads a connection's first bytes until they hold a whole ClientHello (or are not TLS, or
 * pass MAX_CLIENT_HELLO_BYTES, or `timeoutMs` passes: the connection is then closed), then
 * calls `done` once with what was read, `initial` (bytes read from it already) first; the
 * bytes are not consumed from the peer's point of view: the caller passes them on.
 */
export function readClientHello(
  socket: net.Socket,
  timeoutMs: number,
  done: (result: HelloParse, bytes: Buffer) => void,
  initial: Buffer = Buffer.alloc(0),
): void {
  if (initial.length > 0) {
    const result = parseClientHello(initial);
    if (result.kind !== 'partial') {
      done(result, initial);
      return;
    }
  }
  let bytes: Buffer = initial;
  let finished = false;
  const finish = (result: HelloParse) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    // Within the 'data' event: `done` takes the socket over before more bytes arrive.
    done(result, bytes);
  };
  const onData = (chunk: Buffer) => {
    bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
    const result = parseClientHello(bytes);
    if (result.kind !== 'partial') finish(result);
    else if (bytes.length > MAX_CLIENT_HELLO_BYTES) finish(NOT_TLS);
  };
  const onClose = () => {
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
  };
  const timer = setTimeout(() => {
    socket.destroy();
    onClose();
  }, timeoutMs);
  socket.on('data', onData);
  socket.once('close', onClose);
}
