/**
 * GAMMA: an HTTPRoute (or GRPCRoute) whose parentRef is a Service routes the mesh's own
 * traffic to that Service, as the mesh file's `routes` of the service do. Each match becomes
 * a mesh route, in the Gateway API's precedence order, ahead of the service's own routes;
 * translation then gives sidecars (and proxyless clients) the same outbound routes a mesh
 * file route gives. Header modifiers, redirects and full-path rewrites have no mesh route
 * field yet: such a rule is left out, with a warning.
 * https://gateway-api.sigs.k8s.io/mesh/
 */
import {
  type GatewayApiState,
  gammaRoutes,
  type HttpRoute,
  type HttpRouteMatch,
  namespacedName,
  type RouteState,
  rankMatches,
  type ValueMatch,
} from '../../gatewayapi/index.js';
import type {
  Backend,
  MeshConfig,
  Route,
  RouteMatch,
  Service,
  StringMatch,
} from '../../mesh/index.js';

function stringMatch(m: ValueMatch): StringMatch {
  return m.type === 'Exact' ? { exact: m.value } : { regex: m.value };
}

function meshMatch(m: HttpRouteMatch): RouteMatch {
  const path: StringMatch =
    m.path.type === 'Exact'
      ? { exact: m.path.value }
      : m.path.type === 'RegularExpression'
        ? { regex: m.path.value }
        : { prefix: m.path.value };
  return {
    path,
    headers: m.headers.map((h) => ({
      name: h.name.toLowerCase(),
      match: stringMatch(h),
      invert: false,
    })),
    queryParams: m.queryParams.map((q) => ({ name: q.name, match: stringMatch(q) })),
    ...(m.method !== undefined ? { method: m.method } : {}),
  };
}

const UNSUPPORTED = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect']);

/** The mesh route of one ranked match, or a reason it cannot be one. */
function meshRoute(
  route: HttpRoute,
  state: RouteState,
  ruleIndex: number,
  match: HttpRouteMatch,
  name: string,
): Route | string {
  const rule = route.rules[ruleIndex];
  const unsupported = rule.filters.find((f) => UNSUPPORTED.has(f.type));
  if (unsupported) return `${unsupported.type} is not supported on a Service parent yet`;
  const rewrite = rule.filters.find((f) => f.type === 'URLRewrite');
  if (rewrite?.path?.type === 'ReplaceFullPath') {
    return 'URLRewrite ReplaceFullPath is not supported on a Service parent yet';
  }
  const backends: Backend[] = rule.backendRefs
    .filter((b) => !state.invalidBackends.has(b))
    .map((b) => ({
      service: b.name,
      namespace: b.namespace,
      ...(b.port !== undefined ? { port: b.port } : {}),
      weight: b.weight,
    }));
  if (backends.length === 0 || backends.every((b) => b.weight === 0)) {
    return 'no backendRef with a weight resolves';
  }
  const mirror = rule.filters.find((f) => f.type === 'RequestMirror');
  const prefix =
    rewrite?.path?.type === 'ReplacePrefixMatch' ? rewrite.path.replacePrefixMatch : undefined;
  return {
    name,
    match: [meshMatch(match)],
    backends,
    ...(prefix !== undefined || rewrite?.hostname !== undefined
      ? {
          rewrite: {
            ...(prefix !== undefined ? { prefix } : {}),
            ...(rewrite?.hostname !== undefined ? { authority: rewrite.hostname } : {}),
          },
        }
      : {}),
    ...(mirror && !state.invalidBackends.has(mirror.backendRef)
      ? {
          mirror: {
            service: mirror.backendRef.name,
            namespace: mirror.backendRef.namespace,
            ...(mirror.backendRef.port !== undefined ? { port: mirror.backendRef.port } : {}),
            percentage: mirror.percent,
          },
        }
      : {}),
  };
}

/**
 * The config with every accepted GAMMA route added to its Service's routes. The mesh route
 * of a route with one rule and one match is named as the route; others `<route>-<rule>-<match>`.
 * A route naming one port of a multi-port service applies to all its HTTP ports, as mesh
 * routes do.
 */
export function withGammaRoutes(
  config: MeshConfig,
  state: GatewayApiState,
  warnings: string[],
): MeshConfig {
  const attached = gammaRoutes(state);
  if (attached.length === 0) return config;
  const byService = new Map<string, { route: HttpRoute; state: RouteState }[]>();
  for (const a of attached) {
    const key = `${a.service.namespace}/${a.service.name}`;
    const list = byService.get(key) ?? [];
    list.push({ route: a.route, state: a.state });
    byService.set(key, list);
  }
  const services = config.services.map((service): Service => {
    const routes = byService.get(`${service.namespace}/${service.name}`);
    if (!routes) return service;
    const stateOf = new Map(routes.map((r) => [r.route, r.state]));
    const added: Route[] = [];
    for (const m of rankMatches(routes.map((r) => r.route))) {
      const single = m.route.rules.length === 1 && m.route.rules[0].matches.length === 1;
      const name = single
        ? m.route.metadata.name
        : `${m.route.metadata.name}-${m.ruleIndex}-${m.matchIndex}`;
      const r = meshRoute(m.route, stateOf.get(m.route)!, m.ruleIndex, m.match, name);
      if (typeof r === 'string') {
        warnings.push(
          `${m.route.kind} ${namespacedName(m.route.metadata)} rule ${m.ruleIndex}: ${r}; left out`,
        );
      } else {
        added.push(r);
      }
    }
    return { ...service, routes: [...added, ...service.routes] };
  });
  return { ...config, services };
}
