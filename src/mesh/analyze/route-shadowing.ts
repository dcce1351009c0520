/**
 * Whether one route match catches every request another does: then a later route with
 * that match is never reached (routes are tried in order, first match wins, as in Envoy's
 * route table: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto).
 * Conservative: it says "covers" only when that is certain (regexes only cover themselves).
 */
import type { RouteMatch, StringMatch } from '../model.js';

function pathCovers(a: StringMatch | undefined, b: StringMatch | undefined): boolean {
  if (a === undefined) return true;
  // Every request path starts with "/".
  if ('prefix' in a && (a.prefix === '' || a.prefix === '/')) return true;
  if (b === undefined) return false;
  if ('prefix' in a) {
    if ('prefix' in b) return b.prefix.startsWith(a.prefix);
    if ('exact' in b) return b.exact.startsWith(a.prefix);
    return false;
  }
  if ('exact' in a) return 'exact' in b && b.exact === a.exact;
  return 'regex' in b && b.regex === a.regex;
}

/** Every condition of `a` is also a condition of `b` (so `b` is at least as narrow). */
function conditionsIncluded<T>(a: readonly T[], b: readonly T[]): boolean {
  const keys = new Set(b.map((x) => JSON.stringify(x)));
  return a.every((x) => keys.has(JSON.stringify(x)));
}

/** Whether every request `b` matches is also matched by `a`. */
export function matchCovers(a: RouteMatch, b: RouteMatch): boolean {
  return (
    pathCovers(a.path, b.path) &&
    conditionsIncluded(a.headers, b.headers) &&
    conditionsIncluded(a.queryParams, b.queryParams) &&
    (a.method === undefined || a.method === b.method)
  );
}

const MATCH_ALL: RouteMatch = { headers: [], queryParams: [] };

/** A route's matches, an empty list being one match of everything. */
export function matchesOf(route: { readonly match: readonly RouteMatch[] }): readonly RouteMatch[] {
  return route.match.length ? route.match : [MATCH_ALL];
}
