/**
 * The checks node's own servers leave out, so that a request refused on the HTTP/1.1 fast
 * path is refused on node's HTTP/1.1 server and on HTTP/2 too. llhttp already refuses
 * controls in the target and in header names and values, and nghttp2 an invalid :path;
 * node's HTTP/2 server drops a field with an invalid name or value and serves the rest (its
 * choice of nghttp2's lenient mode): the field checks here are a second line for that path.
 * Neither refuses a second Host (node keeps the first and drops the other, the upstream may
 * pick either: RFC 9112 §3.2 says 400), nor HTTP/1.0 with Transfer-Encoding (RFC 9112 §6.1:
 * a 1.0 recipient cannot parse chunked; Envoy and nginx refuse it). A missing Host on
 * HTTP/1.1 is refused here rather than by node, so it is counted and flagged as elsewhere.
 */
import type { IncomingMessage } from 'node:http';
import { isFieldValue, isRequestTarget, isToken } from '../http1/index.js';

/** Why a request node parsed must be refused (400), or undefined when it is acceptable. */
export function invalidRequest(
  req: Pick<IncomingMessage, 'url' | 'rawHeaders' | 'httpVersion' | 'headers'>,
): string | undefined {
  const target = req.url;
  // CONNECT's target is an authority; it never reaches here without one.
  if (target !== undefined && target.length > 0 && !isRequestTarget(target)) {
    return 'invalid request-target';
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // HTTP/2 pseudo-headers are checked by node (names) and above (:path).
    if (name.charCodeAt(0) !== 58 /* ':' */ && !isToken(name)) return 'invalid header name';
    if (!isFieldValue(raw[i + 1])) return `invalid value for header ${name.toLowerCase()}`;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) {
      return 'more than one Host header';
    }
  }
  if (req.httpVersion === '1.0' && req.headers['transfer-encoding'] !== undefined) {
    return 'Transfer-Encoding in an HTTP/1.0 request';
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400 (the fast path does).
  if (hosts === 0 && req.httpVersion === '1.1') return 'missing Host header';
  return undefined;
}
