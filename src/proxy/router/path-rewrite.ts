/**
 * Path rewrites of a route or redirect: `prefix_rewrite` (swap the matched prefix or path)
 * and `regex_rewrite` (substitute in the path). Both keep the query string as it was.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#envoy-v3-api-field-config-route-v3-routeaction-prefix-rewrite
 */

import type { Re2Regex } from '../../regex/index.js';
import type { envoy } from '../../xds/index.js';
import type { PathMatch } from './path-matcher.js';
import { pathLength } from './path-matcher.js';
import { compileRegexMatcher } from './string-matcher.js';

export type PathRewriteKind = 'prefix' | 'whole-path' | 'regex';

/**
 * A compiled rewrite. For prefix and path_separated_prefix routes the matched prefix is
 * swapped; for exact-path and regex routes, the whole path before the query (as Envoy does).
 */
export class PathRewrite {
  constructor(
    readonly kind: PathRewriteKind,
    /** The new prefix or path, or the JS replacement string for a regex. */
    readonly replacement: string,
    /** For 'prefix': how many leading characters the route's prefix matched. */
    readonly prefixLength: number,
    readonly regex: Re2Regex | undefined,
  ) {}

  /** The rewritten path (with its query); `path` must be the path the route matched. */
  apply(path: string): string {
    switch (this.kind) {
      case 'prefix': {
        const rest = path.slice(this.prefixLength);
        // Deliberately unlike Envoy, which would give '//x' for '/api' -> '/' on '/api/x':
        // a rewrite ending in '/' absorbs the '/' that follows the matched prefix.
        if (this.replacement.endsWith('/') && rest.charCodeAt(0) === 47) {
          return this.replacement + rest.slice(1);
        }
        return this.replacement + rest;
      }
      case 'whole-path':
        return this.replacement + path.slice(pathLength(path));
      case 'regex': {
        const end = pathLength(path);
        const rewritten = path.slice(0, end).replace(this.regex!, this.replacement);
        return end === path.length ? rewritten : rewritten + path.slice(end);
      }
    }
  }
}

/** RE2 substitution syntax (`\1`, `\\`) as a JS replacement string (`$1`, `\`, `$$`). */
export function re2Substitution(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '$') out += '$$';
    else if (c === '\\' && i + 1 < s.length) {
      const n = s[++i]!;
      out += n >= '0' && n <= '9' ? `$${n === '0' ? '&' : n}` : n;
    } else out += c;
  }
  return out;
}

export type PathRewriteResult =
  | { ok: true; rewrite: PathRewrite | undefined }
  | { ok: false; error: string };

/**
 * Compiles the rewrite of a route or redirect from its `prefix_rewrite` / `regex_rewrite`
 * (at most one). An empty prefix_rewrite is proto3's "unset".
 */
export function compilePathRewrite(
  match: PathMatch,
  prefixRewrite: string | undefined,
  regexRewrite: envoy.RegexMatchAndSubstitute | undefined,
): PathRewriteResult {
  const hasPrefix = prefixRewrite !== undefined && prefixRewrite !== '';
  if (hasPrefix && regexRewrite !== undefined) {
    return { ok: false, error: 'prefix_rewrite and regex_rewrite are mutually exclusive' };
  }
  if (regexRewrite !== undefined) {
    // A rewrite regex substitutes wherever it matches, so it is not anchored.
    const r = compileRegexMatcher(regexRewrite.pattern, true);
    if (!r.ok) return { ok: false, error: `regex_rewrite: ${r.error}` };
    return {
      ok: true,
      rewrite: new PathRewrite(
        'regex',
        re2Substitution(regexRewrite.substitution ?? ''),
        0,
        r.regex,
      ),
    };
  }
  if (!hasPrefix) return { ok: true, rewrite: undefined };
  const byPrefix = match.kind === 'prefix' || match.kind === 'separated-prefix';
  return {
    ok: true,
    rewrite: new PathRewrite(
      byPrefix ? 'prefix' : 'whole-path',
      prefixRewrite,
      byPrefix ? match.value.length : 0,
      undefined,
    ),
  };
}
