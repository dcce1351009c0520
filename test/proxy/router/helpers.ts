/** Small builders for router tests. */
import assert from 'node:assert/strict';
import {
  compileRouteTable,
  type ForwardRoute,
  type MatchedRoute,
  type RequestHeaders,
  type RouteRequest,
  type RouteTable,
} from '../../../src/proxy/router/index.js';
import type { envoy } from '../../../src/xds/index.js';

export function request(
  authority: string,
  path = '/',
  method = 'GET',
  headers: RequestHeaders = {},
): RouteRequest {
  return { authority, path, method, headers };
}

/** Compiles a route configuration that must be valid. */
export function table(rc: envoy.RouteConfiguration): RouteTable {
  const r = compileRouteTable(rc);
  if (!r.ok) assert.fail(r.error);
  return r.table;
}

/** The error of a route configuration that must be invalid. */
export function compileError(rc: envoy.RouteConfiguration): string {
  const r = compileRouteTable(rc);
  if (r.ok) assert.fail('expected a compile error');
  return r.error;
}

/** A route configuration of one catch-all virtual host with these routes. */
export function catchAll(...rs: envoy.Route[]): envoy.RouteConfiguration {
  return { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: rs }] };
}

/** A table of one catch-all virtual host with these routes. */
export function routes(...rs: envoy.Route[]): RouteTable {
  return table(catchAll(...rs));
}

/** A route named `name` to cluster `name`, with this match. */
export function to(
  name: string,
  match: envoy.Route['match'],
  extra: Partial<envoy.Route> = {},
): envoy.Route {
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
