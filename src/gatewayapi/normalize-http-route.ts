/**
 * HTTPRoute and GRPCRoute rules, defaulted as the CRDs default them (a rule without matches
 * matches every path; a path match is PathPrefix `/`), and checked against the CRDs' CEL
 * rules. A GRPCRoute method match becomes the path match it means (`/<service>/<method>`),
 * so both kinds share one model and one translation.
 * https://gateway-api.sigs.k8s.io/reference/spec/#httproute
 * https://gateway-api.sigs.k8s.io/reference/spec/#grpcroute
 */

import { type Data, int, list, record, str } from '../parsed-data/index.js';
import { compileRe2 } from '../regex/index.js';
import type { GatewayApiIssue } from './issue.js';
import type {
  BackendRef,
  HeaderModifier,
  HttpRoute,
  HttpRouteFilter,
  HttpRouteMatch,
  HttpRouteRule,
  ObjectMeta,
  PathMatchType,
  PathModifier,
  ValueMatch,
} from './model.js';
import { checkUnique, type Path, readBackendRef, readParentRef } from './normalize-refs.js';
import { readRulePolicy } from './normalize-rule-policy.js';

type Kind = 'HTTPRoute' | 'GRPCRoute';

export function normalizeHttpRoute(
  kind: Kind,
  meta: ObjectMeta,
  spec: unknown,
  path: Path,
  issues: GatewayApiIssue[],
): HttpRoute {
  const s = record(spec);
  return {
    kind,
    metadata: meta,
    parentRefs: list(s.parentRefs).map((p) => readParentRef(p, meta)),
    hostnames: list(s.hostnames).filter((h): h is string => typeof h === 'string'),
    rules: list(s.rules).map((r, i) => readRule(kind, r, meta, [...path, 'rules', i], issues)),
  };
}

const MATCH_EVERYTHING: HttpRouteMatch = {
  path: { type: 'PathPrefix', value: '/' },
  headers: [],
  queryParams: [],
};

function readRule(
  kind: Kind,
  raw: unknown,
  meta: ObjectMeta,
  path: Path,
  issues: GatewayApiIssue[],
): HttpRouteRule {
  const r = record(raw);
  const rawMatches = list(r.matches);
  const matches = rawMatches.map((m, i) =>
    kind === 'HTTPRoute'
      ? readHttpMatch(record(m), [...path, 'matches', i], issues)
      : readGrpcMatch(record(m), [...path, 'matches', i], issues),
  );
  const filters = list(r.filters).flatMap((f, i) => {
    const filter = readFilter(kind, record(f), meta, [...path, 'filters', i], issues);
    return filter ? [filter] : [];
  });
  const backendRefs = list(r.backendRefs).map((b, i) =>
    readBackendRef(b, meta, [...path, 'backendRefs', i], issues),
  );
  checkFilterCombination(filters, matches, backendRefs, path, issues);
  const name = str(r.name);
  return {
    ...(name !== undefined ? { name } : {}),
    matches: matches.length > 0 ? matches : [MATCH_EVERYTHING],
    filters,
    backendRefs,
    ...readRulePolicy(kind, r, path, issues),
  };
}

function readValueMatches(raw: unknown, what: string, path: Path, issues: GatewayApiIssue[]) {
  const matches: ValueMatch[] = list(raw).map((v, i) => {
    const o = record(v);
    const type = str(o.type) === 'RegularExpression' ? 'RegularExpression' : 'Exact';
    const value = str(o.value) ?? '';
    if (type === 'RegularExpression') checkRegex(value, [...path, i, 'value'], issues);
    return { type, name: str(o.name) ?? '', value };
  });
  // Header names are case-insensitive (RFC 9110); query parameter names are not.
  const key = (m: ValueMatch) => (what === 'header' ? m.name.toLowerCase() : m.name);
  checkUnique(matches.map(key), `${what} name`, (i) => [...path, i, 'name'], issues);
  return matches;
}

function readHttpMatch(m: Data, path: Path, issues: GatewayApiIssue[]): HttpRouteMatch {
  const p = record(m.path);
  const given = str(p.type);
  const type: PathMatchType =
    given === 'Exact' || given === 'RegularExpression' ? given : 'PathPrefix';
  const value = str(p.value) ?? '/';
  if (type === 'RegularExpression') checkRegex(value, [...path, 'path', 'value'], issues);
  else checkPath(value, [...path, 'path', 'value'], issues);
  const method = str(m.method);
  return {
    path: { type, value },
    headers: readValueMatches(m.headers, 'header', [...path, 'headers'], issues),
    queryParams: readValueMatches(
      m.queryParams,
      'query parameter',
      [...path, 'queryParams'],
      issues,
    ),
    ...(method !== undefined ? { method } : {}),
  };
}

/** A gRPC method match as the HTTP/2 path it means: `/<service>/<method>`. */
function readGrpcMatch(m: Data, path: Path, issues: GatewayApiIssue[]): HttpRouteMatch {
  const headers = readValueMatches(m.headers, 'header', [...path, 'headers'], issues);
  if (m.method === undefined) return { ...MATCH_EVERYTHING, headers };
  const o = record(m.method);
  const service = str(o.service);
  const method = str(o.method);
  const at = [...path, 'method'];
  if (service === undefined && method === undefined) {
    issues.push({ path: at, message: 'a method match needs service, method or both' });
  }
  if (str(o.type) === 'RegularExpression') {
    const value = `/${service ?? '[^/]+'}/${method ?? '[^/]+'}`;
    checkRegex(value, at, issues);
    return { path: { type: 'RegularExpression', value }, headers, queryParams: [] };
  }
  for (const [field, v] of [
    ['service', service],
    ['method', method],
  ] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_.]+$/.test(v)) {
      issues.push({ path: [...at, field], message: `invalid gRPC ${field} name '${v}'` });
    }
  }
  if (method === undefined) {
    return { path: { type: 'PathPrefix', value: `/${service}` }, headers, queryParams: [] };
  }
  if (service === undefined) {
    return {
      path: { type: 'RegularExpression', value: `/[^/]+/${method}` },
      headers,
      queryParams: [],
    };
  }
  return { path: { type: 'Exact', value: `/${service}/${method}` }, headers, queryParams: [] };
}

function checkPath(value: string, path: Path, issues: GatewayApiIssue[]): void {
  if (!value.startsWith('/')) {
    issues.push({ path, message: `a path must start with '/'; got '${value}'` });
  } else if (/\/\/|\/\.\.?(\/|$)|[?#]/.test(value)) {
    // The CRD refuses what a normalised request path never contains.
    issues.push({ path, message: `'${value}' has '//', '/./', '/../', '?' or '#'` });
  }
}

/** Envoy and Ferry's sidecars match with RE2; what RE2 refuses is refused here, at its line. */
function checkRegex(value: string, path: Path, issues: GatewayApiIssue[]): void {
  const r = compileRe2(value);
  if (!r.ok) issues.push({ path, message: `invalid regular expression: ${r.error}` });
}

const FIELD_OF: Record<string, string> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
};

const GRPC_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror']);

function readFilter(
  kind: Kind,
  f: Data,
  meta: ObjectMeta,
  path: Path,
  issues: GatewayApiIssue[],
): HttpRouteFilter | undefined {
  const type = str(f.type) ?? '';
  const field = FIELD_OF[type];
  if (field === undefined) return undefined; // the schema names the allowed types
  for (const other of Object.values(FIELD_OF)) {
    if (other !== field && f[other] !== undefined) {
      issues.push({ path: [...path, other], at: 'key', message: `not allowed with type ${type}` });
    }
  }
  if (kind === 'GRPCRoute' && !GRPC_FILTERS.has(type)) {
    issues.push({ path: [...path, 'type'], message: `a GRPCRoute cannot use ${type}` });
    return undefined;
  }
  if (type === 'ExtensionRef' || type === 'CORS') {
    issues.push({ path: [...path, 'type'], message: `Ferry does not support the ${type} filter` });
    return undefined;
  }
  const body = f[field];
  if (body === undefined) {
    issues.push({ path, message: `type ${type} needs ${field}` });
    return undefined;
  }
  const at = [...path, field];
  const o = record(body);
  switch (type) {
    case 'RequestHeaderModifier':
    case 'ResponseHeaderModifier':
      return { type, modifier: readModifier(o, at, issues) };
    case 'RequestRedirect': {
      const scheme = str(o.scheme);
      const hostname = str(o.hostname);
      const port = int(o.port);
      const pathModifier = readPathModifier(o.path, [...at, 'path'], issues);
      return {
        type,
        ...(scheme === 'http' || scheme === 'https' ? { scheme } : {}),
        ...(hostname !== undefined ? { hostname } : {}),
        ...(pathModifier ? { path: pathModifier } : {}),
        ...(port !== undefined ? { port } : {}),
        statusCode: int(o.statusCode) ?? 302,
      };
    }
    case 'URLRewrite': {
      const hostname = str(o.hostname);
      const pathModifier = readPathModifier(o.path, [...at, 'path'], issues);
      return {
        type,
        ...(hostname !== undefined ? { hostname } : {}),
        ...(pathModifier ? { path: pathModifier } : {}),
      };
    }
    default:
      return readMirror(o, meta, at, issues);
  }
}

function readMirror(
  o: Data,
  meta: ObjectMeta,
  path: Path,
  issues: GatewayApiIssue[],
): HttpRouteFilter {
  const backendRef = readBackendRef(o.backendRef, meta, [...path, 'backendRef'], issues);
  let percent = int(o.percent) ?? 100;
  if (o.fraction !== undefined) {
    if (o.percent !== undefined) {
      issues.push({ path, message: 'needs at most one of percent, fraction' });
    }
    const fr = record(o.fraction);
    const numerator = int(fr.numerator) ?? 0;
    const denominator = int(fr.denominator) ?? 100;
    if (numerator > denominator) {
      issues.push({ path: [...path, 'fraction'], message: 'numerator is above denominator' });
    }
    percent = denominator > 0 ? (100 * numerator) / denominator : 0;
  }
  return { type: 'RequestMirror', backendRef, percent };
}

function readModifier(o: Data, path: Path, issues: GatewayApiIssue[]): HeaderModifier {
  const pairs = (field: string) =>
    list(o[field]).map((h) => {
      const x = record(h);
      return { name: str(x.name) ?? '', value: str(x.value) ?? '' };
    });
  const set = pairs('set');
  const add = pairs('add');
  const remove = list(o.remove).filter((r): r is string => typeof r === 'string');
  for (const [field, names] of [
    ['set', set.map((h) => h.name)],
    ['add', add.map((h) => h.name)],
    ['remove', remove],
  ] as const) {
    checkUnique(
      names.map((n) => n.toLowerCase()),
      'header name',
      (i) => [...path, field, i],
      issues,
    );
  }
  return { set, add, remove };
}

function readPathModifier(
  raw: unknown,
  path: Path,
  issues: GatewayApiIssue[],
): PathModifier | undefined {
  if (raw === undefined) return undefined;
  const o = record(raw);
  const type = str(o.type);
  const full = str(o.replaceFullPath);
  const prefix = str(o.replacePrefixMatch);
  if (type === 'ReplaceFullPath') {
    if (full === undefined || prefix !== undefined) {
      issues.push({ path, message: 'type ReplaceFullPath needs replaceFullPath (only)' });
    }
    return { type, replaceFullPath: full ?? '/' };
  }
  if (type === 'ReplacePrefixMatch') {
    if (prefix === undefined || full !== undefined) {
      issues.push({ path, message: 'type ReplacePrefixMatch needs replacePrefixMatch (only)' });
    }
    return { type, replacePrefixMatch: prefix ?? '/' };
  }
  return undefined;
}

/** The CRD's rules about which filters go together, and with what. */
function checkFilterCombination(
  filters: readonly HttpRouteFilter[],
  matches: readonly HttpRouteMatch[],
  backendRefs: readonly BackendRef[],
  path: Path,
  issues: GatewayApiIssue[],
): void {
  const at = [...path, 'filters'];
  const count = (t: string) => filters.filter((f) => f.type === t).length;
  for (const t of [
    'RequestHeaderModifier',
    'ResponseHeaderModifier',
    'RequestRedirect',
    'URLRewrite',
  ]) {
    if (count(t) > 1) issues.push({ path: at, message: `${t} may appear once per rule` });
  }
  if (count('RequestRedirect') > 0 && count('URLRewrite') > 0) {
    issues.push({ path: at, message: 'RequestRedirect and URLRewrite cannot both be used' });
  }
  if (count('RequestRedirect') > 0 && backendRefs.length > 0) {
    issues.push({ path: at, message: 'a rule with RequestRedirect cannot have backendRefs' });
  }
  const prefixRewrite = filters.some(
    (f) =>
      (f.type === 'URLRewrite' || f.type === 'RequestRedirect') &&
      f.path?.type === 'ReplacePrefixMatch',
  );
  if (prefixRewrite && !matches.every((m) => m.path.type === 'PathPrefix')) {
    issues.push({
      path: at,
      message: 'ReplacePrefixMatch needs every match of the rule to be a PathPrefix match',
    });
  }
}
