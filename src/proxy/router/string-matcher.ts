/**
 * envoy.type.matcher.v3.StringMatcher and RegexMatcher, compiled once at config time.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/type/matcher/v3/string.proto
 *
 * Envoy's regexes are RE2 and always match the whole input; so are Ferry's (src/regex): a
 * pattern runs in time linear in its input whatever the control plane sent, and one RE2
 * refuses (a backreference, lookaround) is refused here, as Envoy NACKs it.
 */
import { compileRe2, type Re2Regex, type Re2Result } from '../../regex/index.js';
import type { envoy } from '../../xds/index.js';

export type RegexResult = Re2Result;

/**
 * Compiles an RE2 pattern that must match the whole input (or, for substitution, every
 * occurrence, unanchored).
 */
export function compileFullMatchRegex(pattern: string, global = false): RegexResult {
  return compileRe2(pattern, global ? 'global' : 'full');
}

export function compileRegexMatcher(
  m: envoy.RegexMatcher | undefined,
  global = false,
): RegexResult {
  return compileFullMatchRegex(m?.regex ?? '', global);
}

/** Lower-cases ASCII letters only, as Envoy's ignore_case does (absl::AsciiStrToLower). */
export function asciiLower(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

/** Whether `s` holds `lowerNeedle` at `offset`, ignoring ASCII case (needle already lower). */
export function regionEqualsIgnoreCase(s: string, offset: number, lowerNeedle: string): boolean {
  const n = lowerNeedle.length;
  if (offset < 0 || offset + n > s.length) return false;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(offset + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lowerNeedle.charCodeAt(i)) return false;
  }
  return true;
}

export type StringMatchKind = 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex';

/** A compiled StringMatcher. `value` is lower-cased when `ignoreCase`. */
export class StringMatch {
  constructor(
    readonly kind: StringMatchKind,
    readonly value: string,
    readonly ignoreCase: boolean,
    readonly regex: Re2Regex | undefined,
  ) {}
}

export function matchString(m: StringMatch, v: string): boolean {
  switch (m.kind) {
    case 'exact':
      return m.ignoreCase
        ? v.length === m.value.length && regionEqualsIgnoreCase(v, 0, m.value)
        : v === m.value;
    case 'prefix':
      return m.ignoreCase ? regionEqualsIgnoreCase(v, 0, m.value) : v.startsWith(m.value);
    case 'suffix':
      return m.ignoreCase
        ? regionEqualsIgnoreCase(v, v.length - m.value.length, m.value)
        : v.endsWith(m.value);
    case 'contains':
      if (!m.ignoreCase) return v.includes(m.value);
      for (let i = 0; i + m.value.length <= v.length; i++) {
        if (regionEqualsIgnoreCase(v, i, m.value)) return true;
      }
      return false;
    case 'regex':
      return m.regex!.test(v);
  }
}

export type StringMatchResult = { ok: true; match: StringMatch } | { ok: false; error: string };

export function literalMatch(
  kind: StringMatchKind,
  value: string,
  ignoreCase: boolean,
): StringMatchResult {
  if (kind !== 'exact' && value.length === 0) {
    return { ok: false, error: `${kind} must not be empty` };
  }
  return {
    ok: true,
    match: new StringMatch(kind, ignoreCase ? asciiLower(value) : value, ignoreCase, undefined),
  };
}

export function regexMatch(m: envoy.RegexMatcher | undefined): StringMatchResult {
  const r = compileRegexMatcher(m);
  return r.ok ? { ok: true, match: new StringMatch('regex', '', false, r.regex) } : r;
}

/** Compiles a StringMatcher; exactly one of its match patterns must be set. */
export function compileStringMatcher(m: envoy.StringMatcher | undefined): StringMatchResult {
  if (!m) return { ok: false, error: 'string matcher is missing' };
  const ic = m.ignore_case === true;
  const set = [m.exact, m.prefix, m.suffix, m.contains, m.safe_regex].filter(
    (x) => x !== undefined,
  );
  if (set.length !== 1) {
    return {
      ok: false,
      error: 'string matcher must set exactly one of exact, prefix, suffix, contains, safe_regex',
    };
  }
  if (m.exact !== undefined) return literalMatch('exact', m.exact, ic);
  if (m.prefix !== undefined) return literalMatch('prefix', m.prefix, ic);
  if (m.suffix !== undefined) return literalMatch('suffix', m.suffix, ic);
  if (m.contains !== undefined) return literalMatch('contains', m.contains, ic);
  return regexMatch(m.safe_regex);
}
