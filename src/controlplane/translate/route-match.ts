/**
 * Route matches. Every Envoy route needs a path specifier (gRPC NACKs a route without one),
 * so a match without a path becomes `prefix: '/'`.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routematch
 */
import type { HeaderMatch, QueryParamMatch, RouteMatch, StringMatch } from '../../mesh/index.js';
import type { Message } from './resources.js';

/** envoy.type.matcher.v3.StringMatcher. */
export function stringMatcher(m: StringMatch): Message {
  if ('exact' in m) return { exact: m.exact };
  if ('prefix' in m) return { prefix: m.prefix };
  return { safe_regex: { regex: m.regex } };
}

function pathSpecifier(path: StringMatch | undefined): Message {
  if (!path) return { prefix: '/' };
  if ('exact' in path) return { path: path.exact };
  if ('prefix' in path) return { prefix: path.prefix };
  return { safe_regex: { regex: path.regex } };
}

function headerMatcher(h: HeaderMatch): Message {
  return {
    name: h.name,
    ...(h.match ? { string_match: stringMatcher(h.match) } : { present_match: true }),
    ...(h.invert ? { invert_match: true } : {}),
  };
}

function queryParameterMatcher(q: QueryParamMatch): Message {
  return {
    name: q.name,
    ...(q.match ? { string_match: stringMatcher(q.match) } : { present_match: true }),
  };
}

/** A match of the mesh model as an envoy.config.route.v3.RouteMatch. */
export function routeMatch(m: RouteMatch): Message {
  const headers = m.headers.map(headerMatcher);
  // HTTP/2 and HTTP/1.1 alike carry the method as the `:method` pseudo-header in Envoy.
  if (m.method !== undefined) headers.push({ name: ':method', string_match: { exact: m.method } });
  const query = m.queryParams.map(queryParameterMatcher);
  return {
    ...pathSpecifier(m.path),
    ...(headers.length ? { headers } : {}),
    ...(query.length ? { query_parameters: query } : {}),
  };
}

/** An Envoy RouteMatch that also requires `headers` (a fault's condition, see fault.ts). */
export function withHeaderMatches(match: Message, headers: readonly HeaderMatch[]): Message {
  if (headers.length === 0) return match;
  const given = (match.headers as Message[] | undefined) ?? [];
  return { ...match, headers: [...given, ...headers.map(headerMatcher)] };
}

/** The match of a catch-all route. */
export function matchAll(): Message {
  return { prefix: '/' };
}
