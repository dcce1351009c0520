/**
 * HTTP routes of a service, after Istio's VirtualService HTTPRoute and the Gateway API's
 * HTTPRoute. Backends are resolved to a service and namespace here; whether they exist is
 * checked once every service is known (check-references.ts).
 */

import {
  bool,
  type Data,
  definedOnly,
  int,
  isRecord,
  list,
  record,
  str,
} from '../parsed-data/index.js';
import { compileRe2 } from '../regex/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import type {
  Backend,
  HeaderMatch,
  Mirror,
  QueryParamMatch,
  Route,
  RouteMatch,
  StringMatch,
} from './model.js';
import { readDuration } from './normalize-duration.js';
import { normalizeFault } from './normalize-fault.js';
import { normalizeRateLimit } from './normalize-rate-limit.js';
import { normalizeRetries } from './normalize-retries.js';
import { UniqueNames } from './unique-names.js';

export interface RouteOwner {
  readonly name: string;
  readonly namespace: string;
}

const STRING_MATCH_KINDS = ['exact', 'prefix', 'regex'] as const;

export function normalizeRoutes(
  raw: unknown,
  owner: RouteOwner,
  path: FieldPath,
  issues: Issue[],
): Route[] {
  const names = new UniqueNames('route name', 'routes', issues);
  return list(raw).map((item, j) => {
    const at = [...path, j];
    const r = record(item);
    const name = str(r.name) ?? '';
    names.add(name, j, [...at, 'name']);
    const match = list(r.match).map((m, k) => readMatch(record(m), [...at, 'match', k], issues));
    const backends = readBackends(r.backends, owner, [...at, 'backends'], issues);
    const rewrite = isRecord(r.rewrite)
      ? definedOnly({ prefix: str(r.rewrite.prefix), authority: str(r.rewrite.authority) })
      : undefined;
    const timeoutMs = readDuration(r, 'timeout', at, issues);
    return {
      name,
      match,
      backends,
      ...(rewrite !== undefined ? { rewrite } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(isRecord(r.retries)
        ? { retries: normalizeRetries(r.retries, [...at, 'retries'], issues) }
        : {}),
      ...normalizeFault(r.fault, [...at, 'fault'], issues),
      ...normalizeRateLimit(r.rateLimit),
      ...readMirror(r.mirror, owner, [...at, 'mirror'], issues),
    };
  });
}

function readMatch(m: Data, path: FieldPath, issues: Issue[]): RouteMatch {
  const pathMatch = isRecord(m.path)
    ? readStringMatch(m.path, [...path, 'path'], issues)
    : undefined;
  const headers: HeaderMatch[] = Object.entries(record(m.headers)).map(([name, value]) =>
    readHeaderMatch(name, record(value), [...path, 'headers', name], issues),
  );
  const queryParams: QueryParamMatch[] = Object.entries(record(m.queryParams)).map(
    ([name, value]) => {
      const match = readStringMatch(record(value), [...path, 'queryParams', name], issues);
      return match !== undefined ? { name, match } : { name };
    },
  );
  const method = str(m.method);
  return {
    ...(pathMatch !== undefined ? { path: pathMatch } : {}),
    headers,
    queryParams,
    ...(method !== undefined ? { method: method.toUpperCase() } : {}),
  };
}

/** HTTP header names are case-insensitive; Envoy compares them in lower case. */
export function readHeaderMatch(
  name: string,
  h: Data,
  path: FieldPath,
  issues: Issue[],
): HeaderMatch {
  const lower = name.toLowerCase();
  const invert = bool(h.invert) ?? false;
  const chosen = [...STRING_MATCH_KINDS, 'present'].filter((k) => h[k] !== undefined);
  if (chosen.length > 1) {
    issues.push({
      path,
      message: `needs exactly one of exact, prefix, regex, present; has ${chosen.join(', ')}`,
    });
  }
  if (h.present !== undefined) {
    // `present: false` is "not present": a presence match, inverted.
    const present = bool(h.present) ?? true;
    return { name: lower, invert: present ? invert : !invert };
  }
  const match = readStringMatch(h, path, issues);
  return match !== undefined ? { name: lower, match, invert } : { name: lower, invert };
}

/** The one of exact, prefix, regex that is set (the schema allows exactly one). */
function readStringMatch(s: Data, path: FieldPath, issues: Issue[]): StringMatch | undefined {
  for (const kind of STRING_MATCH_KINDS) {
    const value = str(s[kind]);
    if (value === undefined) continue;
    if (kind === 'exact') return { exact: value };
    if (kind === 'prefix') return { prefix: value };
    const problem = regexProblem(value);
    if (problem !== undefined) {
      issues.push({ path: [...path, 'regex'], message: `invalid regular expression: ${problem}` });
    }
    return { regex: value };
  }
  return undefined;
}

/**
 * Envoy matches with RE2, and so do Ferry's sidecars (src/regex): the pattern is compiled by
 * RE2 here, so that what RE2 refuses (a backreference, lookaround, a bad escape) is an error
 * at load time, at its line, rather than a NACK from every sidecar.
 */
function regexProblem(source: string): string | undefined {
  const r = compileRe2(source);
  return r.ok ? undefined : r.error;
}

function readBackends(
  raw: unknown,
  owner: RouteOwner,
  path: FieldPath,
  issues: Issue[],
): Backend[] {
  const backends: Backend[] = list(raw).map((item) => {
    const b = record(item);
    return { ...readTarget(b, owner), weight: int(b.weight) ?? 1 };
  });
  if (backends.length > 0 && backends.every((b) => b.weight === 0)) {
    issues.push({ path, message: 'the weights add up to 0; give at least one backend a weight' });
  }
  return backends;
}

/** Where a backend or mirror sends: a service (default the route's own), port and subset. */
function readTarget(t: Data, owner: RouteOwner): Omit<Backend, 'weight'> {
  const port = int(t.port);
  const subset = str(t.subset);
  return {
    service: str(t.service) ?? owner.name,
    namespace: str(t.namespace) ?? owner.namespace,
    ...(port !== undefined ? { port } : {}),
    ...(subset !== undefined ? { subset } : {}),
  };
}

function readMirror(
  raw: unknown,
  owner: RouteOwner,
  path: FieldPath,
  issues: Issue[],
): { mirror?: Mirror } {
  if (!isRecord(raw)) return {};
  if (raw.service === undefined && raw.subset === undefined) {
    issues.push({
      path,
      message:
        'needs service, subset or both: without them the copies would go where the route sends',
    });
  }
  // The schema requires a number from 0 to 100; Istio's default is every request.
  const percentage = typeof raw.percentage === 'number' ? raw.percentage : 100;
  return { mirror: { ...readTarget(raw, owner), percentage } };
}
