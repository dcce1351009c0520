/**
 * Listeners for proxyless gRPC clients. A client with target `xds:///<name>` asks LDS for
 * a listener called `<name>` that carries an `api_listener` (gRFC A27), so every way of
 * spelling a service gets one: the FQDN, `<name>.<ns>.svc`, `<name>.<ns>` and `<name>`,
 * each with `:<port>`, and without a port for the service's first HTTP port. All of a
 * port's names share the route configuration `<hostname>:<port>`. They are on-demand:
 * served only to a client that names them.
 * https://github.com/grpc/proposal/blob/master/A27-xds-global-load-balancing.md
 */
import { DEFAULT_NAMESPACE, type Service } from '../../mesh/index.js';
import { anyFault, faultFilter } from './fault.js';
import { escapeRegex, INVALID_BACKEND_CLUSTER } from './gateway-filters.js';
import { hostPortName } from './names.js';
import { httpConnectionManager } from './network-filters.js';
import { httpPorts } from './protocols.js';
import type { Message, NamedResource } from './resources.js';
import type { RoutesOf } from './routes.js';
import { singleHostRouteConfig } from './routes.js';
import { compareServices, type ServiceIndex } from './service-index.js';

interface Alias {
  readonly name: string;
  /** `<name>` and `<name>:<port>`, which services of other namespaces may also claim. */
  readonly short: boolean;
}

function aliases(service: Service, port: number, firstPort: boolean): Alias[] {
  const long = [
    service.hostname,
    `${service.name}.${service.namespace}.svc`,
    `${service.name}.${service.namespace}`,
  ];
  const out: Alias[] = long.map((h) => ({ name: hostPortName(h, port), short: false }));
  out.push({ name: hostPortName(service.name, port), short: true });
  if (firstPort) {
    out.push(...long.map((name) => ({ name, short: false })));
    out.push({ name: service.name, short: true });
  }
  return out;
}

/** Services of the default namespace claim short names first, then by namespace order. */
function claimOrder(a: Service, b: Service): number {
  const ad = a.namespace === DEFAULT_NAMESPACE ? 0 : 1;
  const bd = b.namespace === DEFAULT_NAMESPACE ? 0 : 1;
  return ad - bd || compareServices(a, b);
}

/** With `fault`, the HCM has the fault filter that the routes' per-route faults configure. */
function apiListener(name: string, routeConfigName: string, fault: boolean): Message {
  return {
    name,
    api_listener: {
      api_listener: httpConnectionManager({
        statPrefix: routeConfigName,
        routeConfigName,
        autoCodec: false,
        httpFilters: fault ? [faultFilter()] : [],
      }),
    },
  };
}

/**
 * The routes as gRPC clients take them: grpc-js-xds NACKs a whole route configuration with
 * a path specifier other than prefix, path and safe_regex, or an action other than route
 * (gRFC A28), and waits for a cluster that is never defined until its deadline. So a GAMMA
 * rule's `path_separated_prefix` becomes the regex of the same paths (the prefix, or it
 * followed by `/`); a GAMMA redirect or direct 500 is left out, with a warning; the share of
 * invalid backends is left out of a split.
 */
function forGrpcClients(routes: readonly Message[], where: string, warnings: string[]) {
  const out: Message[] = [];
  for (const r of routes) {
    const answers = r.redirect !== undefined ? 'redirects' : r.direct_response ? 'answers 500' : '';
    if (answers) {
      warnings.push(
        `${where}: route ${String(r.name)} ${answers}, which gRPC clients cannot do; left out for them`,
      );
      continue;
    }
    out.push({ ...r, match: grpcMatch(r.match as Message), route: grpcAction(r.route as Message) });
  }
  return out;
}

function grpcMatch(match: Message): Message {
  const { path_separated_prefix: prefix, ...rest } = match;
  if (prefix === undefined) return match;
  return { safe_regex: { regex: `${escapeRegex(String(prefix))}(/.*)?` }, ...rest };
}

function grpcAction(action: Message): Message {
  if (action.cluster_not_found_response_code === undefined) return action;
  const { cluster_not_found_response_code: _, weighted_clusters, ...rest } = action;
  const clusters = (weighted_clusters as { clusters: Message[] }).clusters.filter(
    (c) => c.name !== INVALID_BACKEND_CLUSTER,
  );
  return clusters.length === 1
    ? { cluster: clusters[0].name, ...rest }
    : { weighted_clusters: { clusters }, ...rest };
}

/**
 * The API listeners and their route configurations. A name is produced once: a short name
 * belongs to the service of that name in namespace `default` if it has that port, else to
 * the first such service by namespace.
 */
export function apiListenerResources(
  index: ServiceIndex,
  routesOf: RoutesOf,
  warnings: string[],
): { listeners: NamedResource[]; routes: NamedResource[] } {
  const listeners = new Map<string, NamedResource>();
  const routes: NamedResource[] = [];
  for (const service of [...index.services].sort(claimOrder)) {
    const ports = httpPorts(service.ports);
    for (const [i, port] of ports.entries()) {
      const routeConfigName = hostPortName(service.hostname, port.port);
      routes.push({
        name: routeConfigName,
        value: singleHostRouteConfig(
          routeConfigName,
          forGrpcClients(routesOf(service, port), routeConfigName, warnings),
        ),
        onDemand: true,
      });
      for (const alias of aliases(service, port.port, i === 0)) {
        if (listeners.has(alias.name)) {
          if (!alias.short)
            warnings.push(`API listener ${alias.name} is produced twice; the first is kept`);
          continue;
        }
        listeners.set(alias.name, {
          name: alias.name,
          value: apiListener(alias.name, routeConfigName, anyFault([service])),
          onDemand: true,
        });
      }
    }
  }
  return { listeners: [...listeners.values()], routes };
}
