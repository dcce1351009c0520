/**
 * envoy.type.matcher.v3.StringMatcher and RegexMatcher, compiled once at config time.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/type/matcher/v3/string.proto
 *
 * Envoy's regexes are RE2 and always match the whole input. JavaScript's engine differs in
 * a few spellings, so the common RE2-only ones are translated and the rest rejected (a
 * pattern must never compile to something that silently means else). JS regexes backtrack
 * where RE2 is linear: the control plane is trusted not to send pathological patterns.
 */
import type { RegexMatcherLike, StringMatcherLike } from './xds-route-types.js';

export type RegexResult = { ok: true; regex: RegExp } | { ok: false; error: string };

/** RE2 POSIX classes, as the contents of a JS character class. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Turns RE2 syntax into the equivalent JS source and flags, or says what has no equivalent. */
function translateRe2(pattern: string): { source: string; flags: string } | { error: string } {
  let flags = '';
  let rest = pattern;
  const inline = /^\(\?([a-zA-Z]+)\)/.exec(rest);
  if (inline) {
    for (const f of inline[1]!) {
      if (f !== 'i' && f !== 's' && f !== 'm')
        return { error: `inline flag ${f} is not supported` };
      if (!flags.includes(f)) flags += f;
    }
    rest = rest.slice(inline[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '\\') {
      const n = rest[i + 1];
      if (n === undefined) return { error: 'trailing backslash' };
      i++;
      if (n === 'A' && !inClass) out += '^';
      else if (n === 'z' && !inClass) out += '(?![\\s\\S])';
      else if (n === 'Q' || n === 'C' || n === 'E') return { error: `\\${n} is not supported` };
      else if ((n === 'p' || n === 'P') && rest[i + 1] !== '{' && rest[i + 1] !== undefined) {
        out += `\\${n}{${rest[i + 1]}}`;
        i++;
      } else out += `\\${n}`;
      continue;
    }
    if (inClass) {
      if (c === '[' && rest[i + 1] === ':') {
        const end = rest.indexOf(':]', i + 2);
        const name = end < 0 ? undefined : rest.slice(i + 2, end);
        const expansion = name === undefined ? undefined : POSIX_CLASSES[name];
        if (expansion === undefined)
          return { error: `character class [:${name ?? ''} is not supported` };
        out += expansion;
        i = end + 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A leading ']' (or '^]') is a literal in RE2 and must be escaped in JS.
      if (rest[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (rest[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && rest.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    out += c;
  }
  return { source: out, flags };
}

/**
 * Compiles an RE2 pattern into a JS RegExp that must match the whole input (or, for
 * substitution, with `global` and unanchored).
 */
export function compileFullMatchRegex(pattern: string, global = false): RegexResult {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    return { ok: false, error: 'regex is empty' };
  }
  const t = translateRe2(pattern);
  if ('error' in t) return { ok: false, error: `regex ${JSON.stringify(pattern)}: ${t.error}` };
  // Unicode mode only when a property class needs it: without it JS is as lenient as RE2
  // about escaped punctuation and literal braces.
  const unicode = /\\[pP]\{/.test(t.source) ? 'u' : '';
  try {
    return global
      ? { ok: true, regex: new RegExp(t.source, `${t.flags}${unicode}g`) }
      : { ok: true, regex: new RegExp(`^(?:${t.source})$`, `${t.flags}${unicode}`) };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, error: `regex ${JSON.stringify(pattern)} does not compile: ${why}` };
  }
}

export function compileRegexMatcher(m: RegexMatcherLike | undefined, global = false): RegexResult {
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
    readonly regex: RegExp | undefined,
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

export function regexMatch(m: RegexMatcherLike | undefined): StringMatchResult {
  const r = compileRegexMatcher(m);
  return r.ok ? { ok: true, match: new StringMatch('regex', '', false, r.regex) } : r;
}

/** Compiles a StringMatcher; exactly one of its match patterns must be set. */
export function compileStringMatcher(m: StringMatcherLike | undefined): StringMatchResult {
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
