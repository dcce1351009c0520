/**
 * Hash policies: what a consistent-hash balancer (ring hash, Maglev) hashes for a request.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routeaction-hashpolicy
 */
import type { envoy } from '../../xds/index.js';
import { readDurationMs } from './duration.js';
import { headerString, queryParamValue } from './header-matcher.js';
import type { RouteRequest } from './route.js';

export type HashPolicy =
  /** A request header (lower-cased name; `:authority`, `:path`, `:method` read the request). */
  | { readonly header: string }
  /**
   * A cookie. With `ttlMs`, Envoy makes the cookie up when the request has none; that is the
   * data path's job (hashInput gives undefined then).
   */
  | { readonly cookie: string; readonly ttlMs?: number; readonly path?: string }
  | { readonly sourceIp: true }
  | { readonly queryParameter: string };

/** Compiles a route's hash policies; problems are pushed to `errors`. */
export function compileHashPolicies(
  list: readonly envoy.HashPolicy[] | undefined,
  where: string,
  errors: string[],
): readonly HashPolicy[] {
  const out: HashPolicy[] = [];
  for (const [i, p] of (list ?? []).entries()) {
    const at = `${where}: hash_policy[${i}]`;
    if (p.header !== undefined) {
      const name = p.header.header_name ?? '';
      if (name === '') errors.push(`${at}: header_name is empty`);
      else out.push(Object.freeze({ header: name.toLowerCase() }));
    } else if (p.cookie !== undefined) {
      const name = p.cookie.name ?? '';
      if (name === '') {
        errors.push(`${at}: cookie name is empty`);
        continue;
      }
      const ttlMs = readDurationMs(p.cookie.ttl, undefined, `${at}: cookie ttl`, errors);
      out.push(
        Object.freeze({
          cookie: name,
          ...(ttlMs !== undefined ? { ttlMs } : {}),
          ...(p.cookie.path ? { path: p.cookie.path } : {}),
        }),
      );
    } else if (p.connection_properties !== undefined) {
      if (p.connection_properties.source_ip === true) out.push(Object.freeze({ sourceIp: true }));
    } else if (p.query_parameter !== undefined) {
      const name = p.query_parameter.name ?? '';
      if (name === '') errors.push(`${at}: query parameter name is empty`);
      else out.push(Object.freeze({ queryParameter: name }));
    } else if (p.filter_state !== undefined) {
      errors.push(`${at}: filter_state hashing is not supported`);
    } else {
      errors.push(`${at}: no policy specifier`);
    }
  }
  return Object.freeze(out);
}

/** The value of cookie `name` in a Cookie header ("a=1; b=2"), without allocating a map. */
export function cookieValue(header: string, name: string): string | undefined {
  const n = name.length;
  let start = 0;
  while (start < header.length) {
    while (header.charCodeAt(start) === 32 || header.charCodeAt(start) === 59) start++;
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    if (header.startsWith(name, start) && header.charCodeAt(start + n) === 61 /* = */) {
      let value = header.slice(start + n + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
        value = value.slice(1, -1);
      }
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

function pseudoOrHeader(req: RouteRequest, name: string): string | undefined {
  switch (name) {
    case ':authority':
      return req.authority;
    case ':path':
      return req.path;
    case ':method':
      return req.method;
    default:
      return headerString(req.headers[name]);
  }
}

function cookieFrom(req: RouteRequest, name: string): string | undefined {
  const h = req.headers.cookie;
  if (h === undefined) return undefined;
  if (typeof h === 'string') return cookieValue(h, name);
  for (const one of h) {
    const v = cookieValue(one, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

function queryFrom(req: RouteRequest, name: string): string | undefined {
  const q = req.path.indexOf('?');
  if (q < 0) return undefined;
  const h = req.path.indexOf('#', q);
  return queryParamValue(req.path.slice(q + 1, h < 0 ? undefined : h), name);
}

/**
 * The string to hash for consistent-hash balancing, from the first policy that yields one;
 * undefined if none does (the balancer then picks as it would without hashing).
 */
export function hashInput(
  policies: readonly HashPolicy[],
  req: RouteRequest,
  sourceIp: string,
): string | undefined {
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    let v: string | undefined;
    if ('header' in p) v = pseudoOrHeader(req, p.header);
    else if ('cookie' in p) v = cookieFrom(req, p.cookie);
    else if ('sourceIp' in p) v = sourceIp === '' ? undefined : sourceIp;
    else v = queryFrom(req, p.queryParameter);
    if (v !== undefined) return v;
  }
  return undefined;
}
