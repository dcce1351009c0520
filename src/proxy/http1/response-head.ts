/**
 * Parsing of an HTTP/1.1 message head (RFC 9112): the status line or request line and
 * the header fields, strictly (a proxy must not guess where a message ends: RFC 9112
 * §6.3, §11.2 request smuggling). Header names come back lower-cased; a repeated header
 * is joined with ", " (set-cookie stays a list), as node's IncomingMessage does.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { FerryError } from '../../errors/index.js';

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
 * Whether `s` can be a request-target (RFC 9112 §3.2): visible US-ASCII only, no
 * whitespace, no control characters, no DEL. A target with a TAB, CR or LF in it is how a
 * request is smuggled past the proxy's routing to a lenient server (one that splits on any
 * whitespace): refused. Bytes above 0x7E are not URI characters either (RFC 3986 §2: they
 * are sent percent-encoded); llhttp refuses them, and so does Ferry.
 */
export function isRequestTarget(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127) return false;
  }
  return true;
}

/*
 * Field values hold visible characters, spaces, tabs and obs-text, no other control
 * characters (RFC 9110 §5.5). Node's parser refuses them too, and undici will not send one
 * upstream: let through, such a request would end in a 503 instead of a 400.
 */

/** A malformed HTTP/1.1 head (request or response), with the status a request gets for it. */
export class HeadError extends FerryError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('FERRY_HTTP1_MALFORMED_HEAD', message);
  }
}

/**
 * Lower-cased header names by their spelling on the wire. Most messages use a few dozen
 * names, so after the first sight of each a name costs one lookup instead of a token check
 * and a toLowerCase(). Only valid names are kept, and only so many.
 */
const LOWER_NAMES = new Map<string, string>();
const LOWER_NAMES_LIMIT = 1024;

function headerName(raw: string): string {
  const known = LOWER_NAMES.get(raw);
  if (known !== undefined) return known;
  if (!isToken(raw)) throw new HeadError(400, `invalid header name "${raw}"`);
  const name = raw.toLowerCase();
  if (LOWER_NAMES.size < LOWER_NAMES_LIMIT) LOWER_NAMES.set(raw, name);
  return name;
}

/** Whether `value` is a valid field value: no controls but HTAB, no DEL (RFC 9110 §5.5). */
export function isFieldValue(value: string): boolean {
  return validValueAt(value, 0, value.length);
}

/** Whether text[from, to) is a valid field value (see validValue). */
function validValueAt(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return false;
  }
  return true;
}

/**
 * Parses the header fields of `text` from `from` (the start of a line) to its end into
 * `headers`, lines split by CRLF; throws HeadError. Works on offsets into the one string:
 * no array of lines, no slices but the names and values kept.
 */
export function parseHeaderBlock(
  text: string,
  from: number,
  headers: IncomingHttpHeaders,
  maxFields = Number.POSITIVE_INFINITY,
): void {
  const length = text.length;
  let pos = from;
  let fields = 0;
  while (pos < length) {
    let eol = text.indexOf('\r\n', pos);
    if (eol < 0) eol = length;
    if (eol === pos) {
      pos = eol + 2;
      continue;
    }
    const first = text.charCodeAt(pos);
    if (first === 32 || first === 9) throw new HeadError(400, 'obsolete line folding');
    if (++fields > maxFields) throw new HeadError(431, 'too many header fields');
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon > eol) throw new HeadError(400, 'malformed header line');
    const name = headerName(text.slice(pos, colon));
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    if (!validValueAt(text, vs, ve)) throw new HeadError(400, `invalid value for header ${name}`);
    const value = text.slice(vs, ve);
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    // Two Host fields: which one is the target is anyone's guess (RFC 9112 §3.2: 400).
    else if (name === 'host') throw new HeadError(400, 'more than one Host header');
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = `${prev}, ${value}`;
    pos = eol + 2;
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
  if (!text.startsWith('HTTP/1.')) throw new HeadError(502, 'not an HTTP/1.x response');
  // "HTTP/1.x NNN reason": three digits, then a space or the end of the line.
  const d0 = text.charCodeAt(9) - 48;
  const d1 = text.charCodeAt(10) - 48;
  const d2 = text.charCodeAt(11) - 48;
  const after = text.charCodeAt(12);
  if (
    text.charCodeAt(8) !== 32 ||
    d0 < 1 ||
    d0 > 9 ||
    d1 < 0 ||
    d1 > 9 ||
    d2 < 0 ||
    d2 > 9 ||
    (after !== 32 && after !== 13 && !Number.isNaN(after))
  ) {
    throw new HeadError(502, 'malformed status line');
  }
  const status = d0 * 100 + d1 * 10 + d2;
  const headers: IncomingHttpHeaders = {};
  const eol = text.indexOf('\r\n');
  if (eol >= 0) parseHeaderBlock(text, eol + 2, headers);
  const connection = headers.connection;
  const close =
    text.charCodeAt(7) === 48 /* HTTP/1.0 */
      ? !(connection && KEEP_ALIVE.test(connection))
      : connection !== undefined && CLOSE.test(connection);
  return { status, headers, close };
}
