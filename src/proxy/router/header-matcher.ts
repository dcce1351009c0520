/**
 * Header and query-parameter matchers of a route, compiled once; matching reads the request
 * without allocating (except to join a header sent several times).
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-headermatcher
 */
import type { envoy } from '../../xds/index.js';
import { int64 } from './duration.js';
import type { RouteRequest } from './route.js';
import {
  compileStringMatcher,
  literalMatch,
  matchString,
  regexMatch,
  type StringMatch,
  type StringMatchResult,
} from './string-matcher.js';

/** Where a header matcher reads its value: Envoy's pseudo-headers map to request fields. */
export type HeaderSource = 'method' | 'authority' | 'path' | 'header';

type HeaderTest = 'string' | 'present' | 'range';

/** A compiled HeaderMatcher. */
export class HeaderMatch {
  constructor(
    /** Lower-cased header name. */
    readonly name: string,
    readonly source: HeaderSource,
    readonly test: HeaderTest,
    readonly string: StringMatch | undefined,
    /** For `present`: true = must be present, false = must be absent. */
    readonly present: boolean,
    readonly rangeStart: number,
    readonly rangeEnd: number,
    readonly invert: boolean,
    readonly missingAsEmpty: boolean,
  ) {}
}

export type HeaderMatchResult = { ok: true; match: HeaderMatch } | { ok: false; error: string };

function sourceOf(name: string): HeaderSource {
  switch (name) {
    case ':method':
      return 'method';
    case ':authority':
      return 'authority';
    case ':path':
      return 'path';
    default:
      return 'header';
  }
}

function fail(name: string, r: { error: string }): HeaderMatchResult {
  return { ok: false, error: `header matcher ${name}: ${r.error}` };
}

/** Compiles a HeaderMatcher, with its legacy `*_match` specifiers. */
export function compileHeaderMatcher(h: envoy.HeaderMatcher): HeaderMatchResult {
  const raw = h.name ?? '';
  if (raw.length === 0) return { ok: false, error: 'header matcher without a name' };
  const name = raw.toLowerCase();
  let test: HeaderTest = 'string';
  let string: StringMatchResult | undefined;
  let present = true;
  let start = 0;
  let end = 0;
  if (h.string_match !== undefined) string = compileStringMatcher(h.string_match);
  else if (h.exact_match !== undefined) {
    // Legacy: an empty exact_match matches any value of a present header.
    if (h.exact_match === '') test = 'present';
    else string = literalMatch('exact', h.exact_match, false);
  } else if (h.prefix_match !== undefined) string = literalMatch('prefix', h.prefix_match, false);
  else if (h.suffix_match !== undefined) string = literalMatch('suffix', h.suffix_match, false);
  else if (h.contains_match !== undefined) {
    string = literalMatch('contains', h.contains_match, false);
  } else if (h.safe_regex_match !== undefined) string = regexMatch(h.safe_regex_match);
  else if (h.range_match !== undefined) {
    test = 'range';
    const s = int64(h.range_match.start) ?? 0;
    const e = int64(h.range_match.end) ?? 0;
    if (Number.isNaN(s) || Number.isNaN(e)) return fail(name, { error: 'range is not integral' });
    start = s;
    end = e;
  } else {
    // present_match, or no specifier at all: Envoy treats both as a presence test.
    test = 'present';
    present = h.present_match !== false;
  }
  if (string && !string.ok) return fail(name, string);
  return {
    ok: true,
    match: new HeaderMatch(
      name,
      sourceOf(name),
      test,
      string?.match,
      present,
      start,
      end,
      h.invert_match === true,
      h.treat_missing_header_as_empty === true,
    ),
  };
}

/**
 * A request header as one string: Envoy joins repeated headers with ','. Node already joins
 * most repeated request headers, so an array is rare.
 */
export function headerString(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  return v.length === 0 ? undefined : v.join(',');
}

export function requestHeaderValue(m: HeaderMatch, req: RouteRequest): string | undefined {
  switch (m.source) {
    case 'method':
      return req.method;
    case 'authority':
      return req.authority;
    case 'path':
      return req.path;
    case 'header':
      return headerString(req.headers[m.name]);
  }
}

/** Parses an int64 the way absl::SimpleAtoi does (surrounding ASCII space, optional sign). */
function parseInteger(v: string): number | undefined {
  let i = 0;
  let end = v.length;
  while (i < end && v.charCodeAt(i) <= 32) i++;
  while (end > i && v.charCodeAt(end - 1) <= 32) end--;
  let sign = 1;
  const c0 = v.charCodeAt(i);
  if (c0 === 43 || c0 === 45) {
    if (c0 === 45) sign = -1;
    i++;
  }
  if (i >= end) return undefined;
  let n = 0;
  for (; i < end; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return sign * n;
}

/**
 * Envoy's HeaderUtility::matchHeaders. A missing header (without treat_missing_header_as_empty)
 * matches only `present_match: false`, or `present_match: true` inverted: an inverted value
 * matcher does not match a missing header.
 */
export function matchHeaderValue(m: HeaderMatch, value: string | undefined): boolean {
  if (value === undefined) {
    if (!m.missingAsEmpty) return m.test === 'present' && m.present === m.invert;
    value = '';
  }
  let matched: boolean;
  switch (m.test) {
    case 'present':
      matched = m.present;
      break;
    case 'range': {
      const n = parseInteger(value);
      matched = n !== undefined && n >= m.rangeStart && n < m.rangeEnd;
      break;
    }
    case 'string':
      matched = matchString(m.string!, value);
      break;
  }
  return matched !== m.invert;
}

/** Whether all header matchers match the request (no matchers: a match). */
export function matchRequestHeaders(ms: readonly HeaderMatch[], req: RouteRequest): boolean {
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i]!;
    if (!matchHeaderValue(m, requestHeaderValue(m, req))) return false;
  }
  return true;
}

/** A compiled QueryParameterMatcher; `string` undefined means a presence test. */
export class QueryMatch {
  constructor(
    readonly name: string,
    readonly string: StringMatch | undefined,
  ) {}
}

export type QueryMatchResult = { ok: true; match: QueryMatch } | { ok: false; error: string };

export function compileQueryMatcher(q: envoy.QueryParameterMatcher): QueryMatchResult {
  const name = q.name ?? '';
  if (name.length === 0) return { ok: false, error: 'query parameter matcher without a name' };
  if (q.string_match === undefined || q.present_match === true) {
    return { ok: true, match: new QueryMatch(name, undefined) };
  }
  const s = compileStringMatcher(q.string_match);
  if (!s.ok) return { ok: false, error: `query parameter matcher ${name}: ${s.error}` };
  return { ok: true, match: new QueryMatch(name, s.match) };
}

function percentDecode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function hasPercent(s: string, start: number, end: number): boolean {
  const i = s.indexOf('%', start);
  return i >= 0 && i < end;
}

/**
 * The first value of query parameter `name` in `query` (the text after '?', without a
 * fragment), percent-decoded as Envoy's parseAndDecodeQueryString does ('+' stays '+');
 * '' for a parameter without '='; undefined when absent.
 */
export function queryParamValue(query: string, name: string): string | undefined {
  const n = name.length;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end - start >= n && query.startsWith(name, start)) {
      const after = start + n;
      if (after === end) return '';
      if (query.charCodeAt(after) === 61 /* = */) return percentDecode(query.slice(after + 1, end));
    } else if (hasPercent(query, start, end)) {
      // An encoded key: compare decoded (rare, so the slices are acceptable).
      const eq = query.indexOf('=', start);
      const keyEnd = eq >= 0 && eq < end ? eq : end;
      if (percentDecode(query.slice(start, keyEnd)) === name) {
        return keyEnd === end ? '' : percentDecode(query.slice(keyEnd + 1, end));
      }
    }
    start = end + 1;
  }
  return undefined;
}

/** Whether all query matchers match `query` (the text after '?'). */
export function matchQuery(ms: readonly QueryMatch[], query: string): boolean {
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i]!;
    const v = queryParamValue(query, m.name);
    if (v === undefined) return false;
    if (m.string !== undefined && !matchString(m.string, v)) return false;
  }
  return true;
}
