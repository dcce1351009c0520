/**
 * A route's path specifier. As in Envoy (Matchers::PathMatcher), every kind is matched
 * against the path without its query string and fragment.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routematch
 */

import type { Re2Regex } from '../../regex/index.js';
import type { envoy } from '../../xds/index.js';
import { asciiLower, compileRegexMatcher, regionEqualsIgnoreCase } from './string-matcher.js';

export type PathMatchKind = 'prefix' | 'exact' | 'regex' | 'separated-prefix';

export class PathMatch {
  constructor(
    readonly kind: PathMatchKind,
    /** The prefix or path, lower-cased when not case-sensitive; '' for regex. */
    readonly value: string,
    readonly caseSensitive: boolean,
    readonly regex: Re2Regex | undefined,
  ) {}
}

export type PathMatchResult = { ok: true; match: PathMatch } | { ok: false; error: string };

/** Match fields that would change which requests match, and that the router cannot honour. */
const UNSUPPORTED: readonly (keyof envoy.RouteMatch)[] = [
  'connect_matcher',
  'path_match_policy',
  'runtime_fraction',
  'tls_context',
  'dynamic_metadata',
];

export function compilePathMatch(m: envoy.RouteMatch | undefined): PathMatchResult {
  if (!m) return { ok: false, error: 'route has no match' };
  for (const field of UNSUPPORTED) {
    if (m[field] !== undefined) return { ok: false, error: `match.${field} is not supported` };
  }
  const specifiers = [m.prefix, m.path, m.safe_regex, m.path_separated_prefix];
  const count = specifiers.filter((s) => s !== undefined).length;
  if (count !== 1) {
    return {
      ok: false,
      error: 'match must set exactly one of prefix, path, safe_regex, path_separated_prefix',
    };
  }
  // BoolValue: absent means true; present without a value means false (proto3 default).
  const cs = m.case_sensitive === undefined || m.case_sensitive.value === true;
  const norm = (s: string) => (cs ? s : asciiLower(s));
  if (m.prefix !== undefined)
    return { ok: true, match: new PathMatch('prefix', norm(m.prefix), cs, undefined) };
  if (m.path !== undefined)
    return { ok: true, match: new PathMatch('exact', norm(m.path), cs, undefined) };
  if (m.path_separated_prefix !== undefined) {
    const p = m.path_separated_prefix;
    // Envoy's validation: starts with '/', no trailing '/', no query or fragment.
    if (!p.startsWith('/') || p.endsWith('/') || /[?#]/.test(p)) {
      return { ok: false, error: `path_separated_prefix ${JSON.stringify(p)} is invalid` };
    }
    return { ok: true, match: new PathMatch('separated-prefix', norm(p), cs, undefined) };
  }
  // case_sensitive does not apply to regexes (Envoy ignores it there).
  const r = compileRegexMatcher(m.safe_regex);
  if (!r.ok) return { ok: false, error: `match.safe_regex: ${r.error}` };
  return { ok: true, match: new PathMatch('regex', '', true, r.regex) };
}

/** Whether the path (without query and fragment) matches. */
export function matchPath(m: PathMatch, path: string): boolean {
  const v = m.value;
  switch (m.kind) {
    case 'prefix':
      return m.caseSensitive ? path.startsWith(v) : regionEqualsIgnoreCase(path, 0, v);
    case 'exact':
      return (
        path.length === v.length &&
        (m.caseSensitive ? path === v : regionEqualsIgnoreCase(path, 0, v))
      );
    case 'separated-prefix': {
      if (path.length < v.length) return false;
      if (!(m.caseSensitive ? path.startsWith(v) : regionEqualsIgnoreCase(path, 0, v)))
        return false;
      return path.length === v.length || path.charCodeAt(v.length) === 47 /* / */;
    }
    case 'regex':
      return m.regex!.test(path);
  }
}

/** The length of the path part of `path` (before any '?' or '#'). */
export function pathLength(path: string): number {
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  if (q < 0) return h < 0 ? path.length : h;
  return h >= 0 && h < q ? h : q;
}
