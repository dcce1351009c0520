/**
 * HTTPFault.headers: the headers a request must all match for a fault to apply, compiled once
 * into a test that reads the request's headers without allocating (except to join a header
 * sent several times, or to lower-case for ignore_case). Envoy's HeaderMatcher semantics: a
 * missing header matches only a presence test that expects it missing (`present_match: false`,
 * or `present_match: true` inverted), unless treat_missing_header_as_empty.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-headermatcher
 */
import type { RequestHeaders } from '../router/index.js';
import { FilterConfigError } from './fault-error.js';
import type { HeaderMatcherLike, StringMatcherLike } from './xds-fault-types.js';

type ValueTest = (value: string) => boolean;

interface CompiledHeader {
  readonly name: string;
  /** undefined: a presence test. */
  readonly test: ValueTest | undefined;
  /** For a presence test: whether the header must be present. */
  readonly present: boolean;
  readonly invert: boolean;
  readonly missingAsEmpty: boolean;
}

export type HeaderCondition = (headers: RequestHeaders) => boolean;

const STRING_KINDS = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'] as const;

function literal(kind: 'exact' | 'prefix' | 'suffix' | 'contains', s: string): ValueTest {
  switch (kind) {
    case 'exact':
      return (v) => v === s;
    case 'prefix':
      return (v) => v.startsWith(s);
    case 'suffix':
      return (v) => v.endsWith(s);
    case 'contains':
      return (v) => v.includes(s);
  }
}

/** RE2 matches the whole value; the JavaScript equivalent is anchored. */
function regex(source: string | undefined, field: string): ValueTest {
  if (typeof source !== 'string' || source === '') throw new FilterConfigError(field, 'is empty');
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new FilterConfigError(field, (err as Error).message);
  }
  return (v) => re.test(v);
}

function stringTest(m: StringMatcherLike, field: string): ValueTest {
  const set = STRING_KINDS.filter((k) => m[k] !== undefined);
  if (set.length !== 1) {
    throw new FilterConfigError(
      field,
      set.length === 0 ? `needs one of ${STRING_KINDS.join(', ')}` : `has ${set.join(' and ')}`,
    );
  }
  const kind = set[0];
  if (kind === 'safe_regex') return regex(m.safe_regex?.regex, `${field}.safe_regex.regex`);
  const s = m[kind] as string;
  if (!m.ignore_case) return literal(kind, s);
  const test = literal(kind, s.toLowerCase());
  return (v) => test(v.toLowerCase());
}

function compileHeader(h: HeaderMatcherLike, field: string): CompiledHeader {
  const name = (h.name ?? '').toLowerCase();
  if (name === '') throw new FilterConfigError(`${field}.name`, 'is required');
  if (h.range_match !== undefined) {
    throw new FilterConfigError(`${field}.range_match`, 'is not supported by Ferry');
  }
  let test: ValueTest | undefined;
  if (h.string_match !== undefined) test = stringTest(h.string_match, `${field}.string_match`);
  else if (h.exact_match !== undefined) {
    // Legacy: an empty exact_match is a presence test.
    test = h.exact_match === '' ? undefined : literal('exact', h.exact_match);
  } else if (h.prefix_match !== undefined) test = literal('prefix', h.prefix_match);
  else if (h.suffix_match !== undefined) test = literal('suffix', h.suffix_match);
  else if (h.contains_match !== undefined) test = literal('contains', h.contains_match);
  else if (h.safe_regex_match !== undefined) {
    test = regex(h.safe_regex_match.regex, `${field}.safe_regex_match.regex`);
  }
  return {
    name,
    test,
    present: test !== undefined || h.present_match !== false,
    invert: h.invert_match === true,
    missingAsEmpty: h.treat_missing_header_as_empty === true,
  };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  // Envoy joins a repeated header with ','.
  return v.length === 0 ? undefined : v.join(',');
}

function matches(h: CompiledHeader, headers: RequestHeaders): boolean {
  let value = headerValue(headers[h.name]);
  if (value === undefined) {
    if (!h.missingAsEmpty) return h.test === undefined && h.present === h.invert;
    value = '';
  }
  const matched = h.test === undefined ? h.present : h.test(value);
  return matched !== h.invert;
}

/** Every matcher must match; no matchers: every request. */
export function compileHeaderCondition(
  matchers: readonly HeaderMatcherLike[] | undefined,
  field: string,
): HeaderCondition | undefined {
  if (matchers === undefined || matchers.length === 0) return undefined;
  const compiled = matchers.map((m, i) => compileHeader(m, `${field}[${i}]`));
  return (headers) => {
    for (let i = 0; i < compiled.length; i++) {
      if (!matches(compiled[i], headers)) return false;
    }
    return true;
  };
}
