/**
 * Routes the proxy answers itself: direct responses and redirects, compiled once (the body
 * encoded, the rewrite compiled), and the Location a redirect sends for a request.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-directresponseaction
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-redirectaction
 */
import type { envoy } from '../../xds/index.js';
import { portStart } from './authority.js';
import type { PathMatch } from './path-matcher.js';
import { pathLength } from './path-matcher.js';
import { compilePathRewrite } from './path-rewrite.js';
import type { DirectResponseRoute, RedirectRoute, RouteRequest } from './route.js';

export function compileDirectResponse(
  d: envoy.DirectResponseAction,
  name: string,
  virtualHost: string,
  where: string,
  errors: string[],
): DirectResponseRoute | undefined {
  const status = d.status ?? 0;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    errors.push(`${where}: direct_response status ${status} is not in [200, 599]`);
    return undefined;
  }
  let body: Buffer | undefined;
  const b = d.body;
  if (b !== undefined) {
    if (b.inline_string !== undefined) body = Buffer.from(b.inline_string, 'utf8');
    else if (b.inline_bytes !== undefined) body = Buffer.from(b.inline_bytes, 'base64');
    else {
      // Compiling stays pure: no file or environment reads.
      errors.push(`${where}: direct_response body must be inline_string or inline_bytes`);
      return undefined;
    }
  }
  return Object.freeze({ kind: 'direct-response', name, virtualHost, status, body });
}

/** envoy.config.route.v3.RedirectAction.RedirectResponseCode, by name and by number. */
const REDIRECT_CODES: ReadonlyMap<string | number, number> = new Map<string | number, number>([
  ['MOVED_PERMANENTLY', 301],
  ['FOUND', 302],
  ['SEE_OTHER', 303],
  ['TEMPORARY_REDIRECT', 307],
  ['PERMANENT_REDIRECT', 308],
  [0, 301],
  [1, 302],
  [2, 303],
  [3, 307],
  [4, 308],
]);

export function compileRedirect(
  r: envoy.RedirectAction,
  match: PathMatch,
  name: string,
  virtualHost: string,
  where: string,
  errors: string[],
): RedirectRoute | undefined {
  const before = errors.length;
  const status = REDIRECT_CODES.get(r.response_code ?? 'MOVED_PERMANENTLY');
  if (status === undefined)
    errors.push(`${where}: redirect response_code ${r.response_code} is unknown`);
  if (r.https_redirect && r.scheme_redirect) {
    errors.push(`${where}: https_redirect and scheme_redirect are mutually exclusive`);
  }
  const pathSpecifiers = [r.path_redirect, r.prefix_rewrite, r.regex_rewrite].filter(
    (x) => x !== undefined && x !== '',
  );
  if (pathSpecifiers.length > 1) {
    errors.push(`${where}: only one of path_redirect, prefix_rewrite, regex_rewrite may be set`);
  }
  const port = r.port_redirect ? r.port_redirect : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    errors.push(`${where}: port_redirect ${port} is not a port`);
  }
  const rewrite = compilePathRewrite(match, r.prefix_rewrite, r.regex_rewrite);
  if (!rewrite.ok) errors.push(`${where}: redirect ${rewrite.error}`);
  if (errors.length > before || !rewrite.ok) return undefined;
  return Object.freeze({
    kind: 'redirect',
    name,
    virtualHost,
    status: status!,
    scheme: r.https_redirect
      ? 'https'
      : r.scheme_redirect
        ? r.scheme_redirect.toLowerCase()
        : undefined,
    host: r.host_redirect ? r.host_redirect : undefined,
    port,
    path: r.path_redirect ? r.path_redirect : undefined,
    pathRewrite: rewrite.rewrite,
    stripQuery: r.strip_query === true,
  });
}

/**
 * The Location of a redirect for `req`, which arrived over `scheme` ('http' or 'https').
 * A host_redirect replaces the whole authority; port_redirect its port. When only the
 * scheme changes, a default port (80, 443) is dropped rather than carried over.
 */
export function redirectLocation(route: RedirectRoute, req: RouteRequest, scheme: string): string {
  const newScheme = route.scheme ?? scheme;
  let host = route.host ?? req.authority;
  if (route.port !== undefined) {
    const p = portStart(host);
    host = `${p < 0 ? host : host.slice(0, p)}:${route.port}`;
  } else if (route.host === undefined && newScheme !== scheme) {
    const p = portStart(host);
    const port = p < 0 ? '' : host.slice(p + 1);
    if (port === '80' || port === '443') host = host.slice(0, p);
  }
  const end = pathLength(req.path);
  let path: string;
  if (route.path !== undefined) {
    path =
      route.path.includes('?') || route.stripQuery ? route.path : route.path + req.path.slice(end);
  } else {
    path = route.pathRewrite ? route.pathRewrite.apply(req.path) : req.path;
    if (route.stripQuery) path = path.slice(0, pathLength(path));
  }
  return `${newScheme}://${host}${path}`;
}
