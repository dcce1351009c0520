/**
 * The mesh model into xDS resources: what every client shares (translateMesh) and what
 * one sidecar adds for its own workload (translateWorkload). Both are pure: the same
 * input gives the same output, sorted by name.
 */

import { namespacedName } from '../../gatewayapi/index.js';
import {
  effectiveMtls,
  type MeshConfig,
  type Protocol,
  type Service,
  type ServicePort,
  type Workload,
} from '../../mesh/index.js';
import { apiListenerResources } from './api-listeners.js';
import { inboundCluster, serviceClusters } from './clusters.js';
import {
  egressGatewayClusters,
  egressVirtualHosts,
  routesThroughEgress,
} from './egress-routing.js';
import { serviceLoadAssignments } from './endpoints.js';
import { type GammaConfig, withGammaRoutes } from './gamma.js';
import { gatewayApiState } from './gateway-state.js';
import { inboundListener, outboundListener } from './listeners.js';
import { hostPortName, inboundClusterName } from './names.js';
import { endpointClusters, passthroughCluster } from './original-destination.js';
import { isHttp2Protocol, isHttpProtocol, type UpstreamHttp } from './protocols.js';
import { inboundRateLimitFilter } from './rate-limit.js';
import { httpRbacFilters, networkRbacFilters, type RbacContext } from './rbac.js';
import {
  type Message,
  type NamedResource,
  sortedResources,
  type Translation,
} from './resources.js';
import { inboundRouteConfig, outboundRouteConfig, serviceRoutes } from './routes.js';
import { indexServices } from './service-index.js';
import { meshKeepsSessions } from './stateful-session.js';
import { collectorCluster, collectorClusterName, listenerTelemetry } from './telemetry.js';
import { gatewayApiWarnings } from './translate-gateway.js';

function named(value: Message, name = String(value.name)): NamedResource {
  return { name, value };
}

function unique(warnings: string[]): string[] {
  return [...new Set(warnings)];
}

/**
 * What every client shares: outbound clusters and their CLAs, an outbound route
 * configuration per namespace, and the proxyless gRPC API listeners with their route
 * configurations. `namespaces` adds namespaces (of connected workloads) that need an
 * outbound route configuration although no service lives in them.
 */
export function translateMesh(
  declared: MeshConfig,
  namespaces: Iterable<string> = [],
): Translation {
  const warnings: string[] = [];
  const { config, consumers } = withGatewayApi(declared, warnings);
  const index = indexServices(config);

  // Each service port's routes are built once; where a namespace has consumer routes for the
  // service, its clients' variant once for that namespace.
  const routeCache = new Map<string, readonly Message[]>();
  const routesOf = (service: Service, port: ServicePort, namespace?: string) => {
    const consumer =
      namespace === undefined ? undefined : consumers.get(namespace)?.get(namespacedName(service));
    const key = `${consumer ? namespace : ''}|${hostPortName(service.hostname, port.port)}`;
    let routes = routeCache.get(key);
    if (!routes) {
      routes = serviceRoutes(index, consumer ?? service, port, warnings);
      routeCache.set(key, routes);
    }
    return routes;
  };

  const clusters: NamedResource[] = [];
  const endpoints: NamedResource[] = [];
  for (const service of index.services) {
    for (const c of serviceClusters(service, config.mesh, warnings)) clusters.push(named(c));
    for (const cla of serviceLoadAssignments(service, config.mesh, warnings)) {
      endpoints.push(named(cla, String(cla.cluster_name)));
    }
  }
  // Spans go to the collector's cluster: the mesh service's when the collector is one.
  const tracing = config.mesh.telemetry?.tracing;
  if (tracing && !clusters.some((c) => c.name === collectorClusterName(tracing))) {
    clusters.push(named(collectorCluster(tracing)));
  }

  // The declared external hosts go to the egress gateway (egress-routing.ts).
  const egress = routesThroughEgress(config.egress) ? config.egress : undefined;
  if (egress) for (const c of egressGatewayClusters(egress, config.mesh)) clusters.push(named(c));
  const egressHosts = egress ? egressVirtualHosts(egress, config.mesh.domain) : [];

  const routes: NamedResource[] = [];
  const allNamespaces = new Set([...index.services.map((s) => s.namespace), ...namespaces]);
  for (const ns of [...allNamespaces].sort()) {
    routes.push(named(outboundRouteConfig(ns, index, routesOf, warnings, egressHosts)));
  }

  const api = apiListenerResources(index, routesOf, warnings);
  routes.push(...api.routes);

  return {
    resources: sortedResources({ listeners: api.listeners, routes, clusters, endpoints }),
    warnings: unique(warnings),
  };
}

/**
 * The config with its GAMMA routes (HTTPRoutes on Services) among the services' routes,
 * and every Gateway API status that is not as it should be said as a warning.
 */
function withGatewayApi(config: MeshConfig, warnings: string[]): GammaConfig {
  if (!config.gatewayApi) return { config, consumers: new Map() };
  const state = gatewayApiState(config, indexServices(config));
  warnings.push(...gatewayApiWarnings(state));
  return withGammaRoutes(config, state);
}

/**
 * The protocols of a workload's service ports: the declared service's, or for a service
 * the config does not declare the workload's own (default http).
 */
function workloadProtocols(service: Service | undefined, workload: Workload): Protocol[] {
  if (service) return service.ports.map((p) => p.protocol);
  return [workload.protocol ?? 'http'];
}

/** How the inbound cluster speaks to the app, from its service's HTTP ports. */
function inboundHttp(protocols: readonly Protocol[]): UpstreamHttp {
  const http = protocols.filter(isHttpProtocol);
  if (http.length > 0 && http.every(isHttp2Protocol)) return 'http2';
  if (http.some(isHttp2Protocol)) return 'downstream';
  return 'http1';
}

/**
 * A rule that names some, but not all, ports of a service with several: its sidecars take
 * every port on one inbound port, so the condition holds for all of them.
 */
function warnSharedPorts(service: Service | undefined, warnings: string[]): void {
  if (!service || service.ports.length < 2) return;
  for (const rule of service.authorization ?? []) {
    const partial = rule.to.some(
      (op) => op.ports.length > 0 && service.ports.some((p) => !op.ports.includes(p.port)),
    );
    if (partial) {
      warnings.push(
        `service ${service.name}.${service.namespace}: rule ${rule.name} names some of the service's ports, but a sidecar receives all of them on its inbound port, so the port condition matches every port there`,
      );
    }
  }
}

/**
 * One sidecar's own resources: `virtualOutbound` with its ORIGINAL_DST clusters, and when the workload has an app port
 * `virtualInbound` with the app's cluster and route configuration `inbound|<appPort>||`.
 * They depend only on the config (endpoints' addresses included) and on the workload's
 * service, namespace, ports and protocol, never on its identity or address.
 */
export function translateWorkload(config: MeshConfig, workload: Workload): Translation {
  const warnings: string[] = [];
  const index = indexServices(config);
  const service = index.find(workload.service, workload.namespace);
  const telemetry = listenerTelemetry(config.mesh, service, workload.service);
  const listeners: NamedResource[] = [
    named(
      outboundListener(
        workload,
        index.services,
        config.mesh,
        warnings,
        telemetry,
        routesThroughEgress(config.egress) ? config.egress : undefined,
        meshKeepsSessions(config),
      ),
    ),
  ];
  const routes: NamedResource[] = [];
  // Where virtualOutbound sends captured connections to a meshed endpoint's own address, and
  // those outside the mesh: sidecars' own, since proxyless gRPC clients reject ORIGINAL_DST.
  const clusters: NamedResource[] = [named(passthroughCluster())];
  for (const s of index.services) {
    for (const c of endpointClusters(s, config.mesh)) clusters.push(named(c));
  }
  if (workload.appPort !== undefined) {
    const protocols = workloadProtocols(service, workload);
    const name = inboundClusterName(workload.appPort);
    const tcpOnly = protocols.length > 0 && protocols.every((p) => p === 'tcp');
    // The sidecar serves every port of its service on its one inbound port.
    const rbac: RbacContext = { mesh: config.mesh, endpointPort: () => workload.inboundPort };
    warnSharedPorts(service, warnings);
    listeners.push(
      named(
        inboundListener(
          workload,
          tcpOnly,
          name,
          {
            mode: service ? effectiveMtls(service, config.mesh) : config.mesh.mtls,
            // Authorization first: a refused request does not spend a token.
            httpFilters: tcpOnly
              ? []
              : [
                  ...httpRbacFilters(service, rbac, warnings),
                  ...(service?.policy.rateLimit
                    ? [inboundRateLimitFilter(service.policy.rateLimit)]
                    : []),
                ],
            networkFilters: tcpOnly ? networkRbacFilters(service, rbac, warnings) : [],
          },
          telemetry,
        ),
      ),
    );
    clusters.push(named(inboundCluster(name, workload.appPort, inboundHttp(protocols))));
    if (!tcpOnly) routes.push(named(inboundRouteConfig(name, name)));
  }
  return {
    resources: sortedResources({ listeners, routes, clusters, endpoints: [] }),
    warnings: unique(warnings),
  };
}
