/**
 * Stateful sessions (Envoy's envoy.filters.http.stateful_session, as a route configures it
 * in typed_per_filter_config): a request whose cookie (or header) names an upstream host goes
 * to that host while it is healthy; the response names the host that served it when that is
 * not the one the request named. The value is the host's `address:port` in base64, as Envoy
 * writes it; with a cookie ttl, base64 of `{"address":…,"expires":<unix s>}` (Envoy's newer
 * form), and an expired value is ignored. A value naming no host of the cluster, or one that
 * is unhealthy or ejected, falls back to the balancer (Envoy's non-strict mode); `strict` is
 * refused rather than silently loosened.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/stateful_session_filter
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/http/stateful_session/cookie/v3/cookie.proto
 */

import { type envoy, types, unpackAny } from '../../xds/index.js';
import { FilterConfigError, filterMessage } from '../fault/index.js';
import { readDurationMs } from './duration.js';
import { cookieValue } from './hash-policy.js';
import { headerString } from './header-matcher.js';
import type { RequestHeaders } from './route.js';

/** The name routes key the filter's per-route config by. */
export const STATEFUL_SESSION_FILTER = 'envoy.filters.http.stateful_session';

/** How a route keeps sessions: compiled once, read per request. */
export interface SessionPolicy {
  readonly kind: 'cookie' | 'header';
  /** The cookie's name, or the header's (lower-cased). */
  readonly name: string;
  /** Cookie: its Path attribute. */
  readonly path: string;
  /** Cookie: its Max-Age and the expiry its value carries; undefined: a session cookie. */
  readonly ttlMs: number | undefined;
}

function compileState(
  state: envoy.StatefulSession['session_state'],
  where: string,
  errors: string[],
): SessionPolicy | undefined {
  const config = state?.typed_config;
  const cookie = unpackAny<envoy.CookieBasedSessionState>(config, types.COOKIE_SESSION_STATE);
  if (cookie) {
    const c = cookie.cookie;
    if (!c?.name) {
      errors.push(`${where}: cookie.name is required`);
      return undefined;
    }
    const ttlMs = readDurationMs(c.ttl, undefined, `${where}: cookie.ttl`, errors);
    return Object.freeze({
      kind: 'cookie',
      name: c.name,
      path: c.path || '/',
      ttlMs: ttlMs || undefined,
    });
  }
  const header = unpackAny<envoy.HeaderBasedSessionState>(config, types.HEADER_SESSION_STATE);
  if (header) {
    if (!header.name) {
      errors.push(`${where}: header name is required`);
      return undefined;
    }
    return Object.freeze({
      kind: 'header',
      name: header.name.toLowerCase(),
      path: '/',
      ttlMs: undefined,
    });
  }
  const type = (config as { '@type'?: string; type_url?: string } | undefined)?.['@type'];
  errors.push(
    `${where}: session_state ${type ?? 'is missing or could not be decoded'}${type ? ' is not a cookie or header session state' : ''}`,
  );
  return undefined;
}

/**
 * A route's session policy from its typed_per_filter_config entry (a StatefulSessionPerRoute,
 * possibly in a FilterConfig), or undefined when the route has none or disables it.
 */
export function compileSessionPolicy(
  config: object | undefined,
  where: string,
  errors: string[],
): SessionPolicy | undefined {
  if (config === undefined) return undefined;
  const at = `${where}: ${STATEFUL_SESSION_FILTER}`;
  try {
    const found = filterMessage<envoy.StatefulSessionPerRoute>(
      config as envoy.Any,
      types.STATEFUL_SESSION_PER_ROUTE,
      STATEFUL_SESSION_FILTER,
    );
    if (found === undefined || found.message.disabled === true) return undefined;
    const session = found.message.stateful_session;
    if (session === undefined) {
      errors.push(`${at}: needs disabled or stateful_session`);
      return undefined;
    }
    if (session.strict === true) {
      errors.push(`${at}: strict sessions are not supported`);
      return undefined;
    }
    return compileState(session.session_state, at, errors);
  } catch (err) {
    if (!(err instanceof FilterConfigError)) throw err;
    errors.push(`${at}: ${err.message}`);
    return undefined;
  }
}

/** The value as it travels: the address, or the address with its expiry. */
function encode(policy: SessionPolicy, hostKey: string, nowMs: number): string {
  const ttl = policy.ttlMs;
  const text =
    ttl === undefined
      ? hostKey
      : JSON.stringify({ address: hostKey, expires: Math.floor((nowMs + ttl) / 1000) });
  return Buffer.from(text, 'latin1').toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The host key a value names; undefined when it is not one of ours or has expired. */
function decode(value: string, nowMs: number): string | undefined {
  if (value.length === 0 || value.length > 512 || !BASE64.test(value)) return undefined;
  const text = Buffer.from(value, 'base64').toString('latin1');
  if (text.charCodeAt(0) !== 123 /* { */) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined; // a client's own garbage: no session, the balancer picks
  }
  const { address, expires } = (parsed ?? {}) as { address?: unknown; expires?: unknown };
  if (typeof address !== 'string') return undefined;
  if (typeof expires === 'number' && expires * 1000 <= nowMs) return undefined;
  return address;
}

/** The upstream host (`address:port`) the request's session names, if any. */
export function sessionHostKey(
  policy: SessionPolicy,
  headers: RequestHeaders,
  nowMs: number,
): string | undefined {
  if (policy.kind === 'header') {
    const v = headerString(headers[policy.name]);
    return v === undefined ? undefined : decode(v.trim(), nowMs);
  }
  const cookies = headerString(headers.cookie);
  if (cookies === undefined) return undefined;
  const v = cookieValue(cookies, policy.name);
  return v === undefined ? undefined : decode(v, nowMs);
}

type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * Names `hostKey` in the response: a Set-Cookie (added to the upstream's own) or the header
 * (replacing what the upstream set under that name).
 */
export function writeSession(
  policy: SessionPolicy,
  headers: ResponseHeaders,
  hostKey: string,
  nowMs: number,
): void {
  const value = encode(policy, hostKey, nowMs);
  if (policy.kind === 'header') {
    headers[policy.name] = value;
    return;
  }
  const ttl = policy.ttlMs;
  const maxAge = ttl === undefined ? '' : `; Max-Age=${Math.floor(ttl / 1000)}`;
  const cookie = `${policy.name}="${value}"${maxAge}; Path=${policy.path}; HttpOnly`;
  const existing = headers['set-cookie'];
  if (existing === undefined) headers['set-cookie'] = cookie;
  else if (Array.isArray(existing)) existing.push(cookie);
  else headers['set-cookie'] = [existing, cookie];
}
