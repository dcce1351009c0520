/**
 * The route table: a RouteConfiguration compiled once into an immutable structure, and the
 * per-request match against it. Matching compiles nothing, creates no closures, and
 * allocates at most the path without its query (only when there is a query).
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/http/http_routing
 */
import type { envoy } from '../../xds/index.js';
import {
  compileHeaderMatcher,
  compileQueryMatcher,
  type HeaderMatch,
  matchQuery,
  matchRequestHeaders,
  type QueryMatch,
} from './header-matcher.js';
import type { HeaderLevel } from './header-mutation.js';
import { compileDirectResponse, compileRedirect } from './local-reply.js';
import { compilePathMatch, matchPath, type PathMatch, pathLength } from './path-matcher.js';
import { compileRetryPolicy, type RetryPolicy } from './retry-policy.js';
import type { MatchedRoute, RouteRequest } from './route.js';
import { compileForwardRoute } from './route-action.js';
import { buildVirtualHostIndex, type VirtualHostIndex } from './virtual-host-index.js';

export interface RouteTable {
  /** The RouteConfiguration's name. */
  readonly name: string;
  /** The route for a request: first matching route of the selected virtual host. */
  match(req: RouteRequest): MatchedRoute | undefined;
  /** Whether some virtual host answers this Host (with or without a port). */
  hasVirtualHost(authority: string): boolean;
  /** Every route of every virtual host, in order (for what is compiled per route). */
  readonly routes: readonly MatchedRoute[];
}

export type CompileResult =
  | { readonly ok: true; readonly table: RouteTable }
  | {
      readonly ok: false;
      /** Every problem, joined with '; '. */
      readonly error: string;
      readonly errors: readonly string[];
    };

class CompiledRoute {
  constructor(
    readonly path: PathMatch,
    readonly headers: readonly HeaderMatch[],
    readonly query: readonly QueryMatch[],
    readonly grpcOnly: boolean,
    readonly result: MatchedRoute,
  ) {}
}

class CompiledVirtualHost {
  constructor(
    readonly name: string,
    readonly routes: readonly CompiledRoute[],
  ) {}
}

/**
 * Envoy's gRPC request test: content-type application/grpc, optionally followed by '+…'
 * or ';…'.
 */
function isGrpc(req: RouteRequest): boolean {
  const ct = req.headers['content-type'];
  if (typeof ct !== 'string' || !ct.startsWith('application/grpc')) return false;
  const next = ct.charCodeAt(16);
  return ct.length === 16 || next === 43 /* + */ || next === 59 /* ; */;
}

class CompiledRouteTable implements RouteTable {
  constructor(
    readonly name: string,
    private readonly hosts: VirtualHostIndex<CompiledVirtualHost>,
    readonly routes: readonly MatchedRoute[],
  ) {
    Object.freeze(this);
  }

  hasVirtualHost(authority: string): boolean {
    return this.hosts.find(authority) !== undefined;
  }

  match(req: RouteRequest): MatchedRoute | undefined {
    const vhost = this.hosts.find(req.authority);
    if (vhost === undefined) return undefined;
    const full = req.path;
    const end = pathLength(full);
    const path = end === full.length ? full : full.slice(0, end);
    let query: string | undefined;
    const routes = vhost.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (!matchPath(r.path, path)) continue;
      if (r.grpcOnly && !isGrpc(req)) continue;
      if (r.headers.length !== 0 && !matchRequestHeaders(r.headers, req)) continue;
      if (r.query.length !== 0) {
        if (query === undefined) query = queryOf(full, end);
        if (!matchQuery(r.query, query)) continue;
      }
      return r.result;
    }
    return undefined;
  }
}

/** The query string of `full` (after '?', before '#'), given where its path ends. */
function queryOf(full: string, pathEnd: number): string {
  if (full.charCodeAt(pathEnd) !== 63 /* ? */) return '';
  const hash = full.indexOf('#', pathEnd);
  return full.slice(pathEnd + 1, hash < 0 ? full.length : hash);
}

function compileRoute(
  r: envoy.Route,
  index: number,
  vhost: string,
  vhostRetry: RetryPolicy | undefined,
  errors: string[],
  /** The virtual host's and the configuration's header modifiers (innermost first). */
  outer: { readonly request: readonly HeaderLevel[]; readonly response: readonly HeaderLevel[] },
): CompiledRoute | undefined {
  const name = r.name ?? '';
  const where = `virtual host ${JSON.stringify(vhost)} route #${index}${name ? ` ${JSON.stringify(name)}` : ''}`;
  const before = errors.length;
  const path = compilePathMatch(r.match);
  if (!path.ok) errors.push(`${where}: ${path.error}`);
  const headers: HeaderMatch[] = [];
  for (const h of r.match?.headers ?? []) {
    const m = compileHeaderMatcher(h);
    if (m.ok) headers.push(m.match);
    else errors.push(`${where}: ${m.error}`);
  }
  const query: QueryMatch[] = [];
  for (const q of r.match?.query_parameters ?? []) {
    const m = compileQueryMatcher(q);
    if (m.ok) query.push(m.match);
    else errors.push(`${where}: ${m.error}`);
  }
  const actions = [r.route, r.redirect, r.direct_response].filter((a) => a !== undefined).length;
  if (r.filter_action !== undefined || r.non_forwarding_action !== undefined) {
    errors.push(`${where}: filter_action and non_forwarding_action are not supported`);
    return undefined;
  }
  if (actions !== 1) {
    errors.push(`${where}: route must have exactly one of route, redirect, direct_response`);
    return undefined;
  }
  if (!path.ok) return undefined;
  let result: MatchedRoute | undefined;
  if (r.route !== undefined) {
    result = compileForwardRoute(
      r.route,
      name,
      vhost,
      path.match,
      vhostRetry,
      where,
      errors,
      r.typed_per_filter_config,
      {
        request: [
          { add: r.request_headers_to_add, remove: r.request_headers_to_remove },
          ...outer.request,
        ],
        response: [
          { add: r.response_headers_to_add, remove: r.response_headers_to_remove },
          ...outer.response,
        ],
      },
    );
  } else if (r.redirect !== undefined) {
    result = compileRedirect(r.redirect, path.match, name, vhost, where, errors);
  } else {
    result = compileDirectResponse(r.direct_response!, name, vhost, where, errors);
  }
  if (result === undefined || errors.length > before) return undefined;
  return new CompiledRoute(
    path.match,
    Object.freeze(headers),
    Object.freeze(query),
    r.match?.grpc !== undefined,
    result,
  );
}

function compileVirtualHost(
  v: envoy.VirtualHost,
  errors: string[],
  rc: envoy.RouteConfiguration,
): CompiledVirtualHost {
  const name = v.name ?? '';
  const retry =
    v.retry_policy === undefined
      ? undefined
      : compileRetryPolicy(
          v.retry_policy,
          `virtual host ${JSON.stringify(name)}: retry_policy`,
          errors,
        );
  const outer = {
    request: [
      { add: v.request_headers_to_add, remove: v.request_headers_to_remove },
      { add: rc.request_headers_to_add, remove: rc.request_headers_to_remove },
    ],
    response: [
      { add: v.response_headers_to_add, remove: v.response_headers_to_remove },
      { add: rc.response_headers_to_add, remove: rc.response_headers_to_remove },
    ],
  };
  const routes: CompiledRoute[] = [];
  for (const [i, r] of (v.routes ?? []).entries()) {
    const compiled = compileRoute(r, i, name, retry, errors, outer);
    if (compiled) routes.push(compiled);
  }
  return new CompiledVirtualHost(name, Object.freeze(routes));
}

/**
 * Compiles a RouteConfiguration into a route table, or says everything that is wrong with
 * it (each problem naming its virtual host and route), so the caller can NACK the update
 * and keep the table it has.
 */
export function compileRouteTable(rc: envoy.RouteConfiguration): CompileResult {
  const errors: string[] = [];
  const vhosts = (rc.virtual_hosts ?? []).map((v) => ({
    name: v.name ?? '',
    domains: v.domains,
    value: compileVirtualHost(v, errors, rc),
  }));
  const names = new Set<string>();
  for (const v of vhosts) {
    if (names.has(v.name)) errors.push(`virtual host ${JSON.stringify(v.name)} is defined twice`);
    names.add(v.name);
  }
  const index = buildVirtualHostIndex(vhosts, rc.ignore_port_in_host_matching === true, errors);
  if (errors.length) {
    const prefix = `route configuration ${JSON.stringify(rc.name ?? '')}: `;
    const all = errors.map((e) => prefix + e);
    return { ok: false, error: all.join('; '), errors: Object.freeze(all) };
  }
  const routes = Object.freeze(vhosts.flatMap((v) => v.value.routes.map((r) => r.result)));
  return { ok: true, table: new CompiledRouteTable(rc.name ?? '', index, routes) };
}
