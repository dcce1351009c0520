/**
 * HTTPFault.headers: the headers a request must all match for a fault to apply. The matchers
 * are the router's (Envoy's HeaderMatcher semantics, compiled once); only what a fault may
 * not use (range_match) and the field names of errors are this module's.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-headermatcher
 */
import type { envoy } from '../../xds/index.js';
import {
  compileHeaderMatcher,
  type HeaderMatch,
  headerString,
  matchHeaderValue,
  type RequestHeaders,
} from '../router/index.js';
import { FilterConfigError } from './fault-error.js';

export type HeaderCondition = (headers: RequestHeaders) => boolean;

/** The field a matcher's compile error is about, for the error's name. */
function errorField(h: envoy.HeaderMatcher, field: string): string {
  if ((h.name ?? '') === '') return `${field}.name`;
  if (h.string_match?.safe_regex !== undefined) return `${field}.string_match.safe_regex.regex`;
  if (h.string_match !== undefined) return `${field}.string_match`;
  if (h.safe_regex_match !== undefined) return `${field}.safe_regex_match.regex`;
  return field;
}

function compile(h: envoy.HeaderMatcher, field: string): HeaderMatch {
  if (h.range_match !== undefined) {
    throw new FilterConfigError(`${field}.range_match`, 'is not supported by Ferry');
  }
  const r = compileHeaderMatcher(h);
  if (!r.ok) throw new FilterConfigError(errorField(h, field), r.error);
  return r.match;
}

/** Every matcher must match; no matchers: every request. */
export function compileHeaderCondition(
  matchers: readonly envoy.HeaderMatcher[] | undefined,
  field: string,
): HeaderCondition | undefined {
  if (matchers === undefined || matchers.length === 0) return undefined;
  const compiled = matchers.map((m, i) => compile(m, `${field}[${i}]`));
  return (headers) => {
    for (let i = 0; i < compiled.length; i++) {
      const m = compiled[i];
      if (!matchHeaderValue(m, headerString(headers[m.name]))) return false;
    }
    return true;
  };
}
