/**
 * Normalization of a request path before routing and authorization, as Envoy's
 * `normalize_path` and Istio's default (`BASE`) do: percent-encoded unreserved characters
 * are decoded and other escapes upper-cased (RFC 3986 §6.2.2.1-2), and dot segments are
 * removed (RFC 3986 §5.2.4). The normalized path is what routes and policies match and what
 * is sent upstream, so `/public/../admin` or `/%61dmin` cannot pass a rule about `/admin`
 * and then be read as `/admin` by the app. Encoded slashes (`%2F`) stay encoded, as Envoy's
 * default. The query is left as it is.
 */

/** RFC 3986 §2.3 unreserved characters, by code: decoded when percent-encoded. */
const UNRESERVED = new Uint8Array(128);
for (let c = 48; c <= 57; c++) UNRESERVED[c] = 1;
for (let c = 65; c <= 90; c++) UNRESERVED[c] = 1;
for (let c = 97; c <= 122; c++) UNRESERVED[c] = 1;
for (const c of '-._~') UNRESERVED[c.charCodeAt(0)] = 1;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes unreserved escapes and upper-cases the others; undefined for a malformed one. */
function normalizeEscapes(path: string): string | undefined {
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return undefined;
    const code = hi * 16 + lo;
    out += path.slice(from, i);
    out +=
      code < 128 && UNRESERVED[code] === 1
        ? String.fromCharCode(code)
        : `%${path.slice(i + 1, i + 3).toUpperCase()}`;
    from = i + 3;
    i += 2;
  }
  return out + path.slice(from);
}

/** RFC 3986 §5.2.4 remove_dot_segments, for an absolute path. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  // segments[0] is '' (the path starts with '/').
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 0) out.pop();
      // A trailing dot segment leaves the directory it names: "/a/.." is "/".
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}

/**
 * The normalized form of an origin-form path (`/...`, query included), or undefined when it
 * holds a malformed percent-escape (answered 400). Paths with nothing to normalize (the
 * common case) come back as they are, after two searches.
 */
export function normalizePath(path: string): string | undefined {
  if (path.indexOf('%') < 0 && path.indexOf('/.') < 0) return path;
  if (path.charCodeAt(0) !== 47 /* '/' */) return path; // '*' (OPTIONS), an authority
  const q = path.indexOf('?');
  const base = q < 0 ? path : path.slice(0, q);
  const escaped = base.indexOf('%') < 0 ? base : normalizeEscapes(base);
  if (escaped === undefined) return undefined;
  const clean = escaped.indexOf('/.') < 0 ? escaped : removeDotSegments(escaped);
  return q < 0 ? clean : clean + path.slice(q);
}
