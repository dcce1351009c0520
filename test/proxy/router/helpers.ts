/** Small builders for router tests. */
import assert from 'node:assert/strict';
import {
  compileRouteTable,
  type ForwardRoute,
  type MatchedRoute,
  type RequestHeaders,
  type RouteConfigurationLike,
  type RouteLike,
  type RouteRequest,
  type RouteTable,
} from '../../../src/proxy/router/index.js';

export function request(
  authority: string,
  path = '/',
  method = 'GET',
  headers: RequestHeaders = {},
): RouteRequest {
  return { authority, path, method, headers };
}

/** Compiles a route configuration that must be valid. */
export function table(rc: RouteConfigurationLike): RouteTable {
  const r = compileRouteTable(rc);
  if (!r.ok) assert.fail(r.error);
  return r.table;
}

/** The error of a route configuration that must be invalid. */
export function compileError(rc: RouteConfigurationLike): string {
  const r = compileRouteTable(rc);
  if (r.ok) assert.fail('expected a compile error');
  return r.error;
}

/** A route configuration of one catch-all virtual host with these routes. */
export function catchAll(...rs: RouteLike[]): RouteConfigurationLike {
  return { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: rs }] };
}

/** A table of one catch-all virtual host with these routes. */
export function routes(...rs: RouteLike[]): RouteTable {
  return table(catchAll(...rs));
}

/** A route named `name` to cluster `name`, with this match. */
export function to(
  name: string,
  match: RouteLike['match'],
  extra: Partial<RouteLike> = {},
): RouteLike {
  return { name, match, route: { cluster: name }, ...extra };
}

export function forward(m: MatchedRoute | undefined): ForwardRoute {
  assert.ok(m, 'no route matched');
  assert.equal(m.kind, 'forward');
  return m as ForwardRoute;
}

/** The name of the route a request matches, or undefined. */
export function routeName(t: RouteTable, req: RouteRequest): string | undefined {
  return t.match(req)?.name;
}
