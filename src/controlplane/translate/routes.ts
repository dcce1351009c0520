/**
 * Route configurations: the routes of a service port, the outbound route configuration of
 * each namespace (one virtual host per HTTP port of every service), and the inbound one.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route.proto
 */
import type {
  FaultInjection,
  GatewayApiRule,
  RateLimit,
  Route,
  RouteMatch,
  Service,
  ServicePort,
  SessionAffinity,
} from '../../mesh/index.js';
import { FAULT_FILTER_NAME, httpFault } from './fault.js';
import { NO_BACKEND, type RuleForward, ruleFields, withInvalidShare } from './gateway-filters.js';
import { gatewayRouteMatch } from './gateway-route-config.js';
import { hostPortName, outboundRouteConfigName } from './names.js';
import { httpPorts } from './protocols.js';
import { RATE_LIMIT_FILTER_NAME, routeRateLimitConfig } from './rate-limit.js';
import type { Message } from './resources.js';
import { defaultAction, routeAction } from './route-action.js';
import { matchAll, routeMatch, withHeaderMatches } from './route-match.js';
import type { ServiceIndex } from './service-index.js';
import { sessionPerFilterConfig } from './stateful-session.js';

/**
 * The routes of one service port as the clients of `namespace` see them (consumer GAMMA
 * routes), computed once per translation; without a namespace, as every client sees them.
 */
export type RoutesOf = (
  service: Service,
  port: ServicePort,
  namespace?: string,
) => readonly Message[];

const MATCH_ALL: RouteMatch = { headers: [], queryParams: [] };

/** What a route carries besides its match and action. */
interface RouteExtras {
  readonly fault?: FaultInjection;
  readonly rateLimit?: RateLimit;
  /** Names the route's one bucket: `<host>:<port>/<route>` (see rate-limit.ts). */
  readonly bucket: string;
  readonly session?: SessionAffinity;
}

function perFilterConfig(
  bucket: string,
  fault: FaultInjection | undefined,
  limit?: RateLimit,
  session?: SessionAffinity,
) {
  const config: Message = {
    ...(fault ? { [FAULT_FILTER_NAME]: httpFault(fault) } : {}),
    ...(limit ? { [RATE_LIMIT_FILTER_NAME]: routeRateLimitConfig(bucket, limit) } : {}),
    ...sessionPerFilterConfig(session),
  };
  return Object.keys(config).length > 0 ? { typed_per_filter_config: config } : {};
}

/**
 * The Envoy routes of one match, `action` being what the route does (`route: RouteAction`,
 * or a GAMMA rule's redirect, with its header modifiers). A fault with a header condition
 * splits it (fault.ts): first the match plus the fault's headers, with the fault; then the
 * match alone, without.
 */
function envoyRoutes(name: string, match: Message, action: Message, extras: RouteExtras) {
  const { fault, rateLimit, bucket } = extras;
  // A session only where the route forwards (a GAMMA redirect picks no host).
  const session = 'route' in action ? extras.session : undefined;
  const plain = { name, match, ...action };
  if (!fault || fault.headers.length === 0) {
    return [{ ...plain, ...perFilterConfig(bucket, fault, rateLimit, session) }];
  }
  return [
    {
      name,
      match: withHeaderMatches(match, fault.headers),
      ...action,
      ...perFilterConfig(bucket, fault, rateLimit, session),
    },
    { ...plain, ...perFilterConfig(bucket, undefined, rateLimit, session) },
  ];
}

/**
 * What a GAMMA rule forwards to: the mesh route's action (timeouts, retries, hashing and
 * mirrors as for any route), the invalid backends' share answered 500 as on a gateway; a
 * direct 500 when no valid backend has weight. Undefined (said) when the action fails.
 */
function gammaForward(
  route: Route,
  rule: GatewayApiRule,
  action: () => Message | undefined,
): RuleForward | undefined {
  const valid = route.backends.reduce((sum, b) => sum + b.weight, 0);
  if (valid <= 0) return NO_BACKEND;
  const forward = action();
  return forward && { route: withInvalidShare(forward, valid, rule.invalidWeight ?? 0) };
}

/**
 * A GAMMA route's Envoy match and action: the Gateway API rule translated as a gateway
 * translates it (gateway-filters.ts), the service port standing for the listener's port
 * (a redirect without a port keeps the one the client called).
 */
function gammaRoute(
  rule: GatewayApiRule,
  forward: () => RuleForward | undefined,
  port: ServicePort,
): { match: Message; action: Message } | undefined {
  // A redirect forwards nowhere (CEL: no backendRefs beside it).
  const redirects = rule.filters.some((f) => f.type === 'RequestRedirect');
  const target = redirects ? NO_BACKEND : forward();
  if (!target) return undefined;
  return {
    match: gatewayRouteMatch(rule.match),
    action: ruleFields(rule.filters, rule.match, port.port, () => target),
  };
}

/**
 * A service port's routes: its mesh routes in order (one Envoy route per alternative
 * match, all with the same action), then a catch-all to the service itself. A route's
 * fault is its own, else its service policy's; the catch-all gets the policy's.
 */
export function serviceRoutes(
  index: ServiceIndex,
  service: Service,
  port: ServicePort,
  warnings: string[],
): Message[] {
  const routes: Message[] = [];
  for (const route of service.routes) {
    const forward = () => routeAction(index, service, port, route, warnings);
    const extras = {
      fault: route.fault ?? service.policy.fault,
      rateLimit: route.rateLimit,
      bucket: `${hostPortName(service.hostname, port.port)}/${route.name}`,
      session: route.session,
    };
    if (route.gatewayApi) {
      if (route.gatewayApi.ports && !route.gatewayApi.ports.includes(port.port)) continue;
      const rule = route.gatewayApi;
      const gamma = gammaRoute(rule, () => gammaForward(route, rule, forward), port);
      if (gamma) routes.push(...envoyRoutes(route.name, gamma.match, gamma.action, extras));
      continue;
    }
    const action = forward();
    if (!action) continue;
    const matches = route.match.length ? route.match : [MATCH_ALL];
    for (const m of matches) {
      routes.push(...envoyRoutes(route.name, routeMatch(m), { route: action }, extras));
    }
  }
  routes.push(
    ...envoyRoutes(
      'default',
      matchAll(),
      { route: defaultAction(service, port) },
      {
        fault: service.policy.fault,
        bucket: '',
      },
    ),
  );
  return routes;
}

/**
 * The host names a client in `namespace` may use for a service port: the FQDN,
 * `<name>.<ns>.svc` and `<name>.<ns>` everywhere, the bare name only in the service's own
 * namespace; each with `:<port>`, and without a port for the service's first HTTP port.
 */
export function serviceDomains(service: Service, port: number, namespace: string): string[] {
  const hosts = [
    service.hostname,
    `${service.name}.${service.namespace}.svc`,
    `${service.name}.${service.namespace}`,
  ];
  if (service.namespace === namespace) hosts.push(service.name);
  const withPort = hosts.map((h) => hostPortName(h, port));
  return httpPorts(service.ports)[0]?.port === port ? [...withPort, ...hosts] : withPort;
}

/**
 * The Host a client sends when it calls a service by its virtual IP (`10.96.0.10:8080`,
 * `[fd00::10]:8080`), and the bare address on the service's first HTTP port, as Istio lists
 * a service's VIP among its virtual host's domains.
 */
function addressDomains(service: Service, port: number): string[] {
  const first = httpPorts(service.ports)[0]?.port === port;
  return (service.addresses ?? []).flatMap((a) => {
    const host = a.includes(':') ? `[${a}]` : a;
    return first ? [hostPortName(host, port), host] : [hostPortName(host, port)];
  });
}

/**
 * The route configuration `outbound.<namespace>`: a virtual host for every HTTP port of
 * every service. Envoy rejects a domain listed twice in one route configuration, so a
 * repeated domain is kept only by its first virtual host. `egressHosts` (the declared
 * external http hosts, see egress-routing.ts) come after the services.
 */
export function outboundRouteConfig(
  namespace: string,
  index: ServiceIndex,
  routesOf: RoutesOf,
  warnings: string[],
  egressHosts: readonly Message[] = [],
): Message {
  const name = outboundRouteConfigName(namespace);
  const claimed = new Set<string>();
  const virtualHosts: Message[] = [];
  for (const service of index.services) {
    for (const port of httpPorts(service.ports)) {
      const vhostName = hostPortName(service.hostname, port.port);
      const domains: string[] = [];
      const names = [
        ...serviceDomains(service, port.port, namespace),
        ...addressDomains(service, port.port),
      ];
      for (const domain of names) {
        if (claimed.has(domain)) {
          warnings.push(`route config ${name}: domain ${domain} of ${vhostName} is already taken`);
        } else {
          claimed.add(domain);
          domains.push(domain);
        }
      }
      if (domains.length === 0) continue;
      virtualHosts.push({ name: vhostName, domains, routes: routesOf(service, port, namespace) });
    }
  }
  for (const vhost of egressHosts) {
    const domains: string[] = [];
    for (const domain of vhost.domains as string[]) {
      if (claimed.has(domain)) {
        warnings.push(
          `route config ${name}: domain ${domain} of egress host ${String(vhost.name)} is already taken`,
        );
      } else {
        claimed.add(domain);
        domains.push(domain);
      }
    }
    if (domains.length > 0) virtualHosts.push({ ...vhost, domains });
  }
  virtualHosts.sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1));
  return { name, virtual_hosts: virtualHosts };
}

/** A route configuration with one virtual host that takes any host name. */
export function singleHostRouteConfig(name: string, routes: readonly Message[]): Message {
  return { name, virtual_hosts: [{ name, domains: ['*'], routes }] };
}

/**
 * The inbound route configuration: everything to the app's cluster, with no timeout
 * (the calling sidecar enforces the route's timeout, as in Istio).
 */
export function inboundRouteConfig(name: string, cluster: string): Message {
  return singleHostRouteConfig(name, [
    { name: 'default', match: matchAll(), route: { cluster, timeout: { seconds: 0 } } },
  ]);
}
