/**
 * Parsing of an HTTP/1.1 message head (RFC 9112): the status line or request line and
 * the header fields, strictly (a proxy must not guess where a message ends: RFC 9112
 * §6.3, §11.2 request smuggling). Header names come back lower-cased; a repeated header
 * is joined with ", " (set-cookie stays a list), as node's IncomingMessage does.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const CRLF2 = Buffer.from('\r\n\r\n');
const DIGITS = /^\d{1,15}$/;
const KEEP_ALIVE = /keep-alive/i;
const CLOSE = /(^|,)\s*close\s*(,|$)/i;

/** A token (RFC 9110 §5.6.2): the characters a header name may use. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TOKEN[c] === 0) return false;
  }
  return true;
}

/**
 * Field values hold visible characters, spaces, tabs and obs-text, no other control
 * characters (RFC 9110 §5.5). Node's parser refuses them too, and undici will not send one
 * upstream: let through, such a request would end in a 503 instead of a 400.
 */
function validValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return false;
  }
  return true;
}

export class HeadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses header lines (after the first line) into `headers`; throws HeadError. */
export function parseHeaderLines(
  lines: string[],
  from: number,
  headers: IncomingHttpHeaders,
): void {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i];
    if (line.length === 0) continue;
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) throw new HeadError(400, 'obsolete line folding');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HeadError(400, 'malformed header line');
    const rawName = line.slice(0, colon);
    if (!isToken(rawName)) throw new HeadError(400, `invalid header name "${rawName}"`);
    const name = rawName.toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!validValue(value)) throw new HeadError(400, `invalid value for header ${name}`);
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = `${prev}, ${value}`;
  }
}

/** How a message body is delimited (RFC 9112 §6.3). */
export type Framing =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

export const NO_BODY: Framing = { kind: 'none' };
export const CHUNKED: Framing = { kind: 'chunked' };
export const UNTIL_CLOSE: Framing = { kind: 'close' };

/** Body framing from Transfer-Encoding / Content-Length; both at once is refused. */
export function framingOf(headers: IncomingHttpHeaders, otherwise: Framing): Framing {
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    if (cl !== undefined) throw new HeadError(400, 'both Transfer-Encoding and Content-Length');
    if (String(te).trim().toLowerCase() !== 'chunked') {
      throw new HeadError(501, `unsupported transfer-encoding "${te}"`);
    }
    return CHUNKED;
  }
  if (cl !== undefined) {
    const s = String(cl);
    if (!DIGITS.test(s)) throw new HeadError(400, `invalid content-length "${s}"`);
    const length = Number(s);
    return length === 0 ? NO_BODY : { kind: 'length', length };
  }
  return otherwise;
}

export interface ResponseHead {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** HTTP/1.0, or Connection: close: the connection ends after this response. */
  readonly close: boolean;
}

/** Whether a Connection header asks to close. */
export function wantsClose(connection: string | undefined): boolean {
  return connection !== undefined && CLOSE.test(connection);
}

/** Parses a response head (without its final CRLFCRLF). */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const statusLine = lines[0];
  if (!statusLine.startsWith('HTTP/1.')) throw new HeadError(502, 'not an HTTP/1.x response');
  const status = Number(statusLine.slice(9, 12));
  if (!(status >= 100 && status <= 999) || statusLine.charCodeAt(12) > 32) {
    throw new HeadError(502, 'malformed status line');
  }
  const headers: IncomingHttpHeaders = {};
  parseHeaderLines(lines, 1, headers);
  const connection = headers.connection;
  const close =
    statusLine.charCodeAt(7) === 48 /* HTTP/1.0 */
      ? !(connection && KEEP_ALIVE.test(connection))
      : connection !== undefined && CLOSE.test(connection);
  return { status, headers, close };
}
