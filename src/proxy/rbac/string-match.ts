/**
 * envoy.type.matcher.v3.StringMatcher compiled once into a test of `value` up to `end` (the
 * path without its query, or the whole value). Exact, prefix, suffix and contains compare in
 * place, without slicing; only ignore_case and safe_regex make a string per call.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/type/matcher/v3/string.proto
 */

import { compileRe2 } from '../../regex/index.js';
import type { envoy } from '../../xds/index.js';
import { RbacConfigError } from './rbac-error.js';

export type StringTest = (value: string, end: number) => boolean;

const KINDS = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'] as const;

export function compileStringMatch(m: envoy.StringMatcher | undefined, field: string): StringTest {
  if (m === undefined) throw new RbacConfigError(field, 'is required');
  const set = KINDS.filter((k) => m[k] !== undefined);
  if (set.length !== 1) {
    throw new RbacConfigError(
      field,
      set.length === 0
        ? `needs one of ${KINDS.join(', ')}`
        : `has ${set.join(' and ')}; only one may be set`,
    );
  }
  const kind = set[0];
  if (kind === 'safe_regex') {
    if (m.ignore_case)
      throw new RbacConfigError(`${field}.ignore_case`, 'does not apply to safe_regex');
    return regexTest(m.safe_regex?.regex, `${field}.safe_regex.regex`);
  }
  const raw = m[kind] as string;
  if (typeof raw !== 'string') throw new RbacConfigError(`${field}.${kind}`, 'must be a string');
  if (m.ignore_case) {
    const s = raw.toLowerCase();
    const test = literalTest(kind, s);
    // Case-insensitive matching needs a lowered copy of the value.
    return (value, end) => test(value.slice(0, end).toLowerCase(), end);
  }
  return literalTest(kind, raw);
}

function literalTest(kind: 'exact' | 'prefix' | 'suffix' | 'contains', s: string): StringTest {
  const n = s.length;
  switch (kind) {
    case 'exact':
      return (value, end) => end === n && value.startsWith(s);
    case 'prefix':
      return (value, end) => end >= n && value.startsWith(s);
    case 'suffix':
      return (value, end) => end >= n && value.endsWith(s, end);
    case 'contains':
      return (value, end) => {
        // The first occurrence is the one that can end before `end`, if any does.
        const at = value.indexOf(s);
        return at >= 0 && at + n <= end;
      };
  }
}

/** RE2, matching the whole input, in linear time (src/regex). */
function regexTest(source: string | undefined, field: string): StringTest {
  if (typeof source !== 'string' || source === '') throw new RbacConfigError(field, 'is empty');
  const r = compileRe2(source);
  if (!r.ok) throw new RbacConfigError(field, r.error);
  const regex = r.regex;
  return (value, end) => regex.test(end === value.length ? value : value.slice(0, end));
}
