/**
 * Permissions and principals of Envoy's RBAC compiled into predicates over one request. What
 * the sidecar cannot see (IP ranges, metadata, SNI, filter state, CEL conditions) is refused
 * at compile time with the field named, never silently treated as a match or a miss.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/rbac/v3/rbac.proto
 */
import type { envoy } from '../../xds/index.js';
import { RbacConfigError } from './rbac-error.js';
import { compileStringMatch, type StringTest } from './string-match.js';

/**
 * What RBAC looks at. `principal` is the peer's SPIFFE ID (undefined on a plaintext
 * connection, or TLS without a client certificate); `method` and `path` are undefined for
 * a TCP connection (network RBAC), so HTTP conditions never match there; `port` is the local
 * port the connection arrived on (Envoy's destination port).
 */
export interface RbacRequest {
  readonly principal: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly port: number;
}

export type Predicate = (r: RbacRequest) => boolean;

const always: Predicate = () => true;

/** The one member of a oneof that is set, or an error naming them. */
function oneOf<T extends object>(
  m: T,
  kinds: readonly (keyof T & string)[],
  field: string,
): keyof T & string {
  if (typeof m !== 'object' || m === null) throw new RbacConfigError(field, 'must be a message');
  const set = kinds.filter((k) => m[k] !== undefined);
  if (set.length === 0) throw new RbacConfigError(field, `needs one of ${kinds.join(', ')}`);
  if (set.length > 1)
    throw new RbacConfigError(field, `has ${set.join(' and ')}; only one may be set`);
  return set[0];
}

function all(ps: Predicate[]): Predicate {
  if (ps.length === 1) return ps[0];
  return (r) => {
    for (let i = 0; i < ps.length; i++) if (!ps[i](r)) return false;
    return true;
  };
}

function any(ps: Predicate[]): Predicate {
  if (ps.length === 1) return ps[0];
  return (r) => {
    for (let i = 0; i < ps.length; i++) if (ps[i](r)) return true;
    return false;
  };
}

function list<T>(items: readonly T[] | undefined, field: string): readonly T[] {
  if (!Array.isArray(items) || items.length === 0)
    throw new RbacConfigError(field, 'must not be empty');
  return items;
}

/** The path up to its query or fragment, as url_path sees it. */
function pathEnd(path: string): number {
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  if (q < 0) return h < 0 ? path.length : h;
  return h < 0 || q < h ? q : h;
}

function urlPath(m: { readonly path?: envoy.StringMatcher } | undefined, field: string): Predicate {
  const test = compileStringMatch(m?.path, `${field}.path`);
  return (r) => r.path !== undefined && test(r.path, pathEnd(r.path));
}

const HEADER_KINDS = [
  'string_match',
  'exact_match',
  'prefix_match',
  'suffix_match',
  'contains_match',
  'safe_regex_match',
  'present_match',
  'range_match',
] as const;

/** A HeaderMatcher on `:method` or `:path`, the headers the sidecar hands to RBAC. */
function header(h: envoy.HeaderMatcher, field: string): Predicate {
  const name = h.name;
  if (name !== ':method' && name !== ':path') {
    throw new RbacConfigError(
      `${field}.name`,
      `${JSON.stringify(name)} is not supported (only :method and :path)`,
    );
  }
  const read = name === ':method' ? (r: RbacRequest) => r.method : (r: RbacRequest) => r.path;
  let test: StringTest | undefined;
  let present = true;
  const kind = oneOf(h, HEADER_KINDS, field);
  switch (kind) {
    case 'string_match':
      test = compileStringMatch(h.string_match, `${field}.string_match`);
      break;
    case 'exact_match':
      test = compileStringMatch({ exact: h.exact_match }, `${field}.exact_match`);
      break;
    case 'prefix_match':
      test = compileStringMatch({ prefix: h.prefix_match }, `${field}.prefix_match`);
      break;
    case 'suffix_match':
      test = compileStringMatch({ suffix: h.suffix_match }, `${field}.suffix_match`);
      break;
    case 'contains_match':
      test = compileStringMatch({ contains: h.contains_match }, `${field}.contains_match`);
      break;
    case 'safe_regex_match':
      test = compileStringMatch({ safe_regex: h.safe_regex_match }, `${field}.safe_regex_match`);
      break;
    case 'present_match':
      present = h.present_match === true;
      break;
    default:
      throw new RbacConfigError(`${field}.${kind}`, 'is not supported');
  }
  const invert = h.invert_match === true;
  const t = test;
  // Envoy: a missing header matches nothing (an inverted matcher then matches), except that
  // `present_match: false` asks for absence.
  const base: Predicate =
    t === undefined
      ? (r) => (read(r) !== undefined) === present
      : (r) => {
          const v = read(r);
          return v !== undefined && t(v, v.length);
        };
  return invert ? (r) => !base(r) : base;
}

const PERMISSION_KINDS = [
  'and_rules',
  'or_rules',
  'any',
  'header',
  'url_path',
  'destination_ip',
  'destination_port',
  'destination_port_range',
  'metadata',
  'not_rule',
  'requested_server_name',
  'matcher',
  'uri_template',
] as const;

export function compilePermission(p: envoy.RbacPermission, field: string): Predicate {
  const kind = oneOf(p, PERMISSION_KINDS, field);
  const at = `${field}.${kind}`;
  switch (kind) {
    case 'and_rules':
      return all(
        list(p.and_rules?.rules, `${at}.rules`).map((x, i) =>
          compilePermission(x, `${at}.rules[${i}]`),
        ),
      );
    case 'or_rules':
      return any(
        list(p.or_rules?.rules, `${at}.rules`).map((x, i) =>
          compilePermission(x, `${at}.rules[${i}]`),
        ),
      );
    case 'any':
      if (p.any !== true) throw new RbacConfigError(at, 'must be true');
      return always;
    case 'header':
      return header(p.header ?? {}, at);
    case 'url_path':
      return urlPath(p.url_path, at);
    case 'destination_port': {
      const port = p.destination_port;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
        throw new RbacConfigError(at, `${String(port)} is not a port`);
      }
      return (r) => r.port === port;
    }
    case 'destination_port_range': {
      // Int32Range: start inclusive, end exclusive.
      const start = p.destination_port_range?.start ?? 0;
      const end = p.destination_port_range?.end ?? 0;
      if (end < start) throw new RbacConfigError(at, `end ${end} is before start ${start}`);
      return (r) => r.port >= start && r.port < end;
    }
    case 'not_rule': {
      const inner = compilePermission(p.not_rule as envoy.RbacPermission, at);
      return (r) => !inner(r);
    }
    default:
      throw new RbacConfigError(at, 'is not supported by the sidecar');
  }
}

const PRINCIPAL_KINDS = [
  'and_ids',
  'or_ids',
  'any',
  'authenticated',
  'source_ip',
  'direct_remote_ip',
  'remote_ip',
  'header',
  'url_path',
  'metadata',
  'filter_state',
  'not_id',
] as const;

export function compilePrincipal(p: envoy.RbacPrincipal, field: string): Predicate {
  const kind = oneOf(p, PRINCIPAL_KINDS, field);
  const at = `${field}.${kind}`;
  switch (kind) {
    case 'and_ids':
      return all(
        list(p.and_ids?.ids, `${at}.ids`).map((x, i) => compilePrincipal(x, `${at}.ids[${i}]`)),
      );
    case 'or_ids':
      return any(
        list(p.or_ids?.ids, `${at}.ids`).map((x, i) => compilePrincipal(x, `${at}.ids[${i}]`)),
      );
    case 'any':
      if (p.any !== true) throw new RbacConfigError(at, 'must be true');
      return always;
    case 'authenticated': {
      // No principal_name: any peer that presented a verified certificate.
      const name = p.authenticated?.principal_name;
      if (name === undefined) return (r) => r.principal !== undefined;
      const test = compileStringMatch(name, `${at}.principal_name`);
      return (r) => r.principal !== undefined && test(r.principal, r.principal.length);
    }
    case 'header':
      return header(p.header ?? {}, at);
    case 'url_path':
      return urlPath(p.url_path, at);
    case 'not_id': {
      const inner = compilePrincipal(p.not_id as envoy.RbacPrincipal, at);
      return (r) => !inner(r);
    }
    default:
      throw new RbacConfigError(at, 'is not supported by the sidecar');
  }
}
