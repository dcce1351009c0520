/**
 * What an egress gateway node (FERRY_MODE egress) is served: the external hosts the mesh
 * file's `egress:` declares, and nothing else, as Istio's egress gateway serves the hosts of
 * its ServiceEntries (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/):
 * - `gateway~<httpPort>`: the HTTP connection manager with RDS `gateway~<httpPort>`, one
 *   virtual host per declared http host (its Host with the port, and bare for port 80);
 *   a Host not declared matches no virtual host, which the proxy answers 404 with flag NR;
 * - `gateway~<tlsPort>`: tls_inspector, then one chain per declared tls host matched by SNI
 *   with a tcp_proxy to it; no chain matches: the connection closes.
 * Both face the mesh, so both take mutual TLS only (Istio's ISTIO_MUTUAL gateway servers): the
 * gateway's own workload certificate (SDS `default`), a client certificate from the mesh's
 * CA required (`ROOTCA`). On the tls listener the SNI of that mTLS names the external host
 * (the sidecar's cluster sets it, egress-routing.ts); inside is the app's own TLS, passed
 * on untouched. A gateway without a workload certificate (a mesh without a CA) serves the
 * same chains in plaintext, the tls ones by the app's own SNI, as sidecars do.
 * Each host is a cluster named as Istio names a ServiceEntry's (`outbound|PORT||HOST`):
 * LOGICAL_DNS for a name (resolved when connecting, as Envoy's docs advise for large external
 * services), STATIC for an IP literal.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/service_discovery
 */
import { isIP } from 'node:net';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  type Egress,
  type EgressHost,
  type MeshConfig,
} from '../../mesh/index.js';
import { durationFromMs } from '../../xds/index.js';
import { gatewayListenerName, hostPortName, outboundClusterName } from './names.js';
import { httpConnectionManagerFilter, tcpProxyFilter } from './network-filters.js';
import type { GatewayResources, Message, NamedResource } from './resources.js';
import { sortedResources } from './resources.js';
import { downstreamTlsSocket, tlsInspector } from './tls.js';
import type { GatewayTranslation } from './translate-gateway.js';

const EMPTY: GatewayResources = {
  listeners: [],
  routes: [],
  clusters: [],
  endpoints: [],
  secrets: [],
};

/** The cluster on the egress gateway that reaches one external host. */
function egressClusterName(h: EgressHost): string {
  return outboundClusterName(h.port, h.host);
}

/** A cluster whose endpoints are given inline (no EDS): STATIC addresses, or one DNS name. */
export function inlineCluster(
  name: string,
  type: 'STATIC' | 'LOGICAL_DNS',
  sockets: readonly { readonly address: string; readonly port: number }[],
): Message {
  return {
    name,
    type,
    connect_timeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: sockets.map((s) => ({
            endpoint: { address: { socket_address: { address: s.address, port_value: s.port } } },
          })),
        },
      ],
    },
  };
}

function egressCluster(h: EgressHost): Message {
  return inlineCluster(egressClusterName(h), isIP(h.host) === 0 ? 'LOGICAL_DNS' : 'STATIC', [
    { address: h.host, port: h.port },
  ]);
}

/** `host:port`, and the bare host where HTTP clients leave the port out (80). */
export function egressDomains(h: EgressHost): string[] {
  const withPort = hostPortName(isIP(h.host) === 6 ? `[${h.host}]` : h.host, h.port);
  return h.port === 80 ? [withPort, h.host] : [withPort];
}

function httpResources(egress: Egress, hosts: readonly EgressHost[]) {
  const name = gatewayListenerName(egress.httpPort);
  const listener: Message = {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: egress.httpPort } },
    filter_chains: [
      {
        name: `${name}/http`,
        transport_socket: downstreamTlsSocket(true, ['h2', 'http/1.1']),
        filters: [
          httpConnectionManagerFilter({ statPrefix: name, routeConfigName: name, autoCodec: true }),
        ],
      },
    ],
  };
  const routeConfig: Message = {
    name,
    virtual_hosts: hosts.map((h) => ({
      name: hostPortName(h.host, h.port),
      domains: egressDomains(h),
      routes: [
        {
          name: `egress/${hostPortName(h.host, h.port)}`,
          match: { prefix: '/' },
          route: { cluster: egressClusterName(h) },
        },
      ],
    })),
  };
  return { listener, routeConfig };
}

function tlsListener(egress: Egress, hosts: readonly EgressHost[]): Message {
  const name = gatewayListenerName(egress.tlsPort);
  return {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: egress.tlsPort } },
    listener_filters: [tlsInspector()],
    filter_chains: hosts.map((h) => ({
      name: `${name}/tls/${h.host}`,
      filter_chain_match: { server_names: [h.host] },
      transport_socket: downstreamTlsSocket(true, []),
      filters: [tcpProxyFilter(name, egressClusterName(h))],
    })),
  };
}

/** The egress gateway `<namespace>/<name>`'s own resources. */
export function translateEgress(config: MeshConfig, gatewayKey: string): GatewayTranslation {
  const egress = config.egress;
  if (!egress || egress.gateway !== gatewayKey) {
    const declared = egress ? `the mesh file's egress gateway is ${egress.gateway}` : 'no egress:';
    return {
      resources: EMPTY,
      warnings: [`egress gateway ${gatewayKey}: ${declared}; it gets no listeners`],
    };
  }
  const http = egress.hosts.filter((h) => h.protocol === 'http');
  const tls = egress.hosts.filter((h) => h.protocol === 'tls');
  const named = (value: Message): NamedResource => ({ name: String(value.name), value });
  const listeners: NamedResource[] = [];
  const routes: NamedResource[] = [];
  if (http.length > 0) {
    const { listener, routeConfig } = httpResources(egress, http);
    listeners.push(named(listener));
    routes.push(named(routeConfig));
  }
  if (tls.length > 0) listeners.push(named(tlsListener(egress, tls)));
  const clusters = egress.hosts.map((h) => named(egressCluster(h)));
  return {
    resources: { ...sortedResources({ listeners, routes, clusters, endpoints: [] }), secrets: [] },
    warnings: [],
  };
}
