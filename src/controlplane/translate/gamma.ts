/**
 * GAMMA: an HTTPRoute (or GRPCRoute) whose parentRef is a Service routes the mesh's own
 * traffic to that Service. Each match becomes a mesh route of the Service, in the Gateway
 * API's precedence order, ahead of the Service's mesh file routes, carrying the rule's match
 * and filters so that translation gives them exactly the gateway's meaning (routes.ts,
 * gateway-filters.ts).
 *
 * A route in the Service's namespace is a producer route: every client gets it. A route in
 * another namespace is a consumer route: the clients of that namespace get it instead of the
 * producer routes (GEP-1294, "Namespace boundaries" and "Multiple routes for a Service").
 * https://gateway-api.sigs.k8s.io/mesh/
 * https://gateway-api.sigs.k8s.io/geps/gep-1294/
 */
import {
  type GatewayApiState,
  gammaRoutes,
  type HttpRoute,
  type HttpRouteMatch,
  namespacedName,
  type RouteState,
  rankMatches,
} from '../../gatewayapi/index.js';
import type { Backend, MeshConfig, Route, Service } from '../../mesh/index.js';
import { rulePolicy } from './gateway-rule-policy.js';

/**
 * The mesh route of one ranked match: its valid backends, and the weight of the invalid ones
 * (answered 500, routes.ts).
 */
function meshRoute(
  { route, state, ports }: Attached,
  ruleIndex: number,
  match: HttpRouteMatch,
  name: string,
): Route {
  const rule = route.rules[ruleIndex];
  const invalid = state.invalidMeshBackends;
  const backends: Backend[] = rule.backendRefs
    .filter((b) => !invalid.has(b))
    .map((b) => ({
      service: b.name,
      namespace: b.namespace,
      ...(b.port !== undefined ? { port: b.port } : {}),
      weight: b.weight,
    }));
  const invalidWeight = rule.backendRefs.reduce((n, b) => n + (invalid.has(b) ? b.weight : 0), 0);
  const mirror = rule.filters.find((f) => f.type === 'RequestMirror');
  return {
    name,
    match: [],
    backends,
    ...(mirror && !invalid.has(mirror.backendRef)
      ? {
          mirror: {
            service: mirror.backendRef.name,
            namespace: mirror.backendRef.namespace,
            ...(mirror.backendRef.port !== undefined ? { port: mirror.backendRef.port } : {}),
            percentage: mirror.percent,
          },
        }
      : {}),
    gatewayApi: {
      match,
      filters: rule.filters,
      ...(ports ? { ports: [...ports] } : {}),
      ...(invalidWeight > 0 ? { invalidWeight } : {}),
    },
  };
}

interface Attached {
  readonly route: HttpRoute;
  readonly state: RouteState;
  /** The ports its parentRefs to the Service name; undefined when one names none (all). */
  ports: Set<number> | undefined;
}

/**
 * The mesh routes of the routes attached to one Service by one namespace, merged as the
 * spec merges routes: every match in precedence order. The mesh route of a route with one
 * rule and one match is named as the route; others `<route>-<rule>-<match>`.
 */
function meshRoutes(attached: readonly Attached[]): Route[] {
  const byRoute = new Map(attached.map((a) => [a.route, a]));
  return rankMatches(attached.map((a) => a.route)).map((m) => {
    const single = m.route.rules.length === 1 && m.route.rules[0].matches.length === 1;
    const name = single
      ? m.route.metadata.name
      : `${m.route.metadata.name}-${m.ruleIndex}-${m.matchIndex}`;
    return withRulePolicy(meshRoute(byRoute.get(m.route)!, m.ruleIndex, m.match, name), m);
  });
}

/**
 * The mesh route with its rule's timeouts, retry and sessionPersistence (gateway-rule-policy.ts),
 * the settings a Gateway parent gives the rule too.
 */
function withRulePolicy(
  route: Route,
  m: { route: HttpRoute; ruleIndex: number; match: HttpRouteMatch },
): Route {
  return { ...route, ...rulePolicy(m.route.rules[m.ruleIndex], m.match) };
}

export interface GammaConfig {
  /** The config with every Service's producer routes ahead of its own routes. */
  readonly config: MeshConfig;
  /**
   * The Services as the clients of a namespace see them where that namespace has consumer
   * routes for them: its consumer routes ahead of the Service's own routes, no producer
   * routes. Namespace → `<namespace>/<name>` of the Service → the Service.
   */
  readonly consumers: ReadonlyMap<string, ReadonlyMap<string, Service>>;
}

/** The value of `key` in `map`, added by `make` when there is none. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** A GAMMA route narrowed to its ports other than `taken`; none when that leaves none. */
function portsLeft(route: Route, service: Service, taken: ReadonlySet<number>): Route[] {
  const rule = route.gatewayApi;
  if (!rule) return [route];
  const ports = (rule.ports ?? service.ports.map((p) => p.port)).filter((p) => !taken.has(p));
  return ports.length === 0 ? [] : [{ ...route, gatewayApi: { ...rule, ports } }];
}

/**
 * The config with every accepted GAMMA route among its Service's routes; a route whose
 * parentRefs name ports is those ports' only (routes.ts).
 */
export function withGammaRoutes(config: MeshConfig, state: GatewayApiState): GammaConfig {
  const consumers = new Map<string, Map<string, Service>>();
  const attached = gammaRoutes(state);
  if (attached.length === 0) return { config, consumers };
  const producers = new Map<string, Attached[]>();
  // `<service>` → consumer namespace → its routes.
  const byConsumer = new Map<string, Map<string, Attached[]>>();
  for (const a of attached) {
    const key = namespacedName(a.service);
    const list: Attached[] =
      a.service.consumer === undefined
        ? entry(producers, key, () => [])
        : entry(
            entry(byConsumer, key, () => new Map<string, Attached[]>()),
            a.service.consumer,
            () => [],
          );
    // A route with several parentRefs to one Service is there once, on all their ports.
    const port = a.service.port;
    const seen = list.find((l) => l.route === a.route);
    if (!seen) {
      const ports = port === undefined ? undefined : new Set([port]);
      list.push({ route: a.route, state: a.state, ports });
    } else if (port === undefined) {
      seen.ports = undefined;
    } else {
      seen.ports?.add(port);
    }
  }
  const services = config.services.map((service): Service => {
    const key = namespacedName(service);
    const produced = meshRoutes(producers.get(key) ?? []);
    for (const [namespace, list] of byConsumer.get(key) ?? []) {
      // On a port no consumer route of the namespace takes, the producer routes still apply.
      const covered = new Set<number>();
      for (const a of list)
        for (const p of a.ports ?? service.ports.map((sp) => sp.port)) covered.add(p);
      const fallback = produced.flatMap((r) => portsLeft(r, service, covered));
      const routes = [...meshRoutes(list), ...fallback, ...service.routes];
      entry(consumers, namespace, () => new Map<string, Service>()).set(key, {
        ...service,
        routes,
      });
    }
    return produced.length === 0
      ? service
      : { ...service, routes: [...produced, ...service.routes] };
  });
  return { config: { ...config, services }, consumers };
}
