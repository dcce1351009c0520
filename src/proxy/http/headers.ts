/**
 * Header handling between downstream and upstream: hop-by-hop headers never cross the
 * proxy (RFC 9110 §7.6.1, and HTTP/2 forbids connection-specific ones outright).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Headers that never cross the proxy (pseudo-headers neither). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'http2-settings',
  'host',
  // The proxy answers `Expect: 100-continue` itself (node sends the 100 Continue), as Envoy
  // does unless proxy_100_continue is set; undici refuses to send the header upstream.
  'expect',
]);

/** The headers to send upstream: the client's, less hop-by-hop and pseudo headers. */
export function upstreamRequestHeaders(
  src: IncomingHttpHeaders,
  authority: string,
  attempt: number,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in src) {
    if (name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name)) continue;
    const v = src[name];
    if (v !== undefined) out[name] = v;
  }
  // gRPC needs "te: trailers" end to end; it is the one TE value HTTP/2 allows.
  if (src.te === 'trailers') out.te = 'trailers';
  out.host = authority;
  out['x-envoy-attempt-count'] = attempt === 1 ? '1' : String(attempt);
  return out;
}

/** The upstream's response headers, less hop-by-hop ones, for the downstream response. */
export function downstreamResponseHeaders(src: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in src) {
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name)) continue;
    out[name] = src[name];
  }
  return out;
}

/** Whether a downstream HTTP/1.1 request carries a body. */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  if (length !== undefined) return length !== '0';
  return headers['transfer-encoding'] !== undefined;
}
