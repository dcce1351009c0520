/**
 * A gateway's Listeners, one per port of its Gateway, named `gateway~<port>` on 0.0.0.0:
 * - HTTP: one chain, the HTTP connection manager with RDS `gateway~<port>`;
 * - HTTPS (Terminate): one chain per certificate set, chosen by SNI (`server_names`: the
 *   listeners' hostnames; a listener without one gives the default chain), TLS with the
 *   certificates over SDS (`<namespace>/<secret>`), then the connection manager;
 * - TLS: one chain per SNI name the attached TLSRoutes serve, tcp_proxy to their backends:
 *   Passthrough leaves the TLS untouched; Terminate (the spec's TLSRouteModeTerminate) ends
 *   it with the listener's certificates over SDS and sends the cleartext; both modes may
 *   share a port (TLSRouteModeMixed), their names in one SNI table;
 * - TCP: one chain, tcp_proxy to the attached TCPRoute's backends.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto
 */
import {
  type GatewayApiState,
  type GatewayState,
  isHttpRoute,
  type ListenerState,
  namespacedName,
  type StreamRoute,
} from '../../gatewayapi/index.js';
import { typed } from '../../xds/index.js';
import { backendCluster, portKeepsSessions } from './gateway-route-config.js';
import { gatewayListenerName } from './names.js';
import { httpConnectionManagerFilter, TCP_PROXY } from './network-filters.js';
import type { Message } from './resources.js';
import type { ServiceIndex } from './service-index.js';
import { statefulSessionFilter } from './stateful-session.js';
import { DOWNSTREAM_TLS_CONTEXT, TLS_TRANSPORT_SOCKET, tlsInspector } from './tls.js';

/** The ports of a gateway that have a usable listener, ascending. */
export function gatewayPorts(gateway: GatewayState): number[] {
  return [...new Set(gateway.listeners.filter((l) => l.usable).map((l) => l.listener.port))].sort(
    (a, b) => a - b,
  );
}

/** With `sessions`, the stateful session filter that routes with sessionPersistence configure. */
function hcm(port: number, sessions: boolean): Message {
  const name = gatewayListenerName(port);
  return httpConnectionManagerFilter({
    statPrefix: name,
    routeConfigName: name,
    autoCodec: true,
    ...(sessions ? { httpFilters: [statefulSessionFilter()] } : {}),
  });
}

/**
 * The DownstreamTlsContext of a terminating chain: the listener's certificates over SDS; ALPN
 * offers h2 and http/1.1 only where HTTP is served (a TLSRoute's stream is no HTTP).
 */
function tlsSocket(listener: ListenerState, alpn: readonly string[]): Message {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: typed(DOWNSTREAM_TLS_CONTEXT, {
      common_tls_context: {
        tls_certificate_sds_secret_configs: listener.certificateRefs.map((ref) => ({
          name: namespacedName(ref),
          sds_config: { ads: {}, resource_api_version: 'V3' },
        })),
        ...(alpn.length > 0 ? { alpn_protocols: [...alpn] } : {}),
      },
    }),
  };
}

const HTTP_ALPN = ['h2', 'http/1.1'];

function serverNames(hostnames: readonly string[]): Message {
  const names = hostnames.filter((h) => h !== '*');
  return names.length > 0 && names.length === hostnames.length
    ? { filter_chain_match: { server_names: names } }
    : {};
}

/** HTTPS listeners on one port, grouped by their certificates: one chain per group. */
function terminateChains(
  listeners: readonly ListenerState[],
  port: number,
  sessions: boolean,
): Message[] {
  const groups = new Map<string, { listener: ListenerState; hostnames: string[] }>();
  for (const l of listeners) {
    const key = l.certificateRefs.map(namespacedName).join(',');
    const group = groups.get(key) ?? { listener: l, hostnames: [] };
    group.hostnames.push(l.listener.hostname ?? '*');
    groups.set(key, group);
  }
  return [...groups.values()].map(({ listener, hostnames }) => ({
    name: `${gatewayListenerName(port)}/https/${hostnames.join(',')}`,
    ...serverNames(hostnames.includes('*') ? ['*'] : hostnames),
    transport_socket: tlsSocket(listener, HTTP_ALPN),
    filters: [hcm(port, sessions)],
  }));
}

/** A tcp_proxy to a stream route's backends (the first rule's; a TCPRoute has one). */
function tcpProxy(
  route: StreamRoute,
  invalid: ReadonlySet<unknown>,
  statPrefix: string,
  index: ServiceIndex,
): Message | undefined {
  const weights = new Map<string, number>();
  for (const b of route.rules[0]?.backendRefs ?? []) {
    const cluster = invalid.has(b) ? undefined : backendCluster(index, b);
    if (cluster && b.weight > 0) weights.set(cluster, (weights.get(cluster) ?? 0) + b.weight);
  }
  const targets = [...weights];
  if (targets.length === 0) return undefined;
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: typed(TCP_PROXY, {
      stat_prefix: statPrefix,
      ...(targets.length === 1
        ? { cluster: targets[0][0] }
        : {
            weighted_clusters: {
              clusters: targets.map(([name, weight]) => ({ name, weight })),
            },
          }),
    }),
  };
}

/**
 * Chains of the stream routes (TLSRoute, TCPRoute) attached to `listeners`: per served
 * hostname the oldest route wins (routes are in configuration order, then by age). A route
 * attached to a listener in Terminate mode gets that listener's TLS in its chain.
 */
function streamChains(
  listeners: readonly ListenerState[],
  state: GatewayApiState,
  port: number,
  index: ServiceIndex,
  warnings: string[],
  /** Server names chains of HTTPS listeners on the port serve already ('*': the default). */
  taken: ReadonlySet<string> = new Set(),
): Message[] {
  const byHost = new Map<string, Message>();
  const name = gatewayListenerName(port);
  for (const r of state.routes) {
    if (isHttpRoute(r.route)) continue;
    const route = r.route;
    for (const parent of r.parents) {
      for (const a of parent.attachments) {
        if (!listeners.includes(a.listener)) continue;
        const proxy = tcpProxy(route, r.invalidBackends, name, index);
        if (!proxy) {
          warnings.push(
            `${route.kind} ${namespacedName(route.metadata)}: no valid backend; not served`,
          );
          continue;
        }
        for (const h of a.hostnames) {
          // Two chains matching one server name would make the whole listener invalid.
          if (taken.has(h)) {
            warnings.push(
              `${route.kind} ${namespacedName(route.metadata)}: ${h} on port ${port} is already served by an HTTPS listener`,
            );
            continue;
          }
          if (byHost.has(h)) {
            warnings.push(
              `${route.kind} ${namespacedName(route.metadata)}: ${h} on port ${port} is already served by another route`,
            );
            continue;
          }
          const terminate = a.listener.listener.tls?.mode === 'Terminate';
          byHost.set(h, {
            name: `${name}/${route.kind}/${namespacedName(route.metadata)}/${h}`,
            ...serverNames([h]),
            ...(terminate ? { transport_socket: tlsSocket(a.listener, []) } : {}),
            filters: [proxy],
          });
        }
      }
    }
  }
  return [...byHost.values()];
}

/** The Listener of one gateway port. */
export function gatewayListener(
  gateway: GatewayState,
  port: number,
  state: GatewayApiState,
  index: ServiceIndex,
  warnings: string[],
): Message {
  const on = gateway.listeners.filter((l) => l.usable && l.listener.port === port);
  const protocol = (p: string) => on.filter((l) => l.listener.protocol === p);
  const name = gatewayListenerName(port);
  const chains: Message[] = [];
  const sessions = portKeepsSessions(gateway, port, state);
  if (protocol('HTTP').length > 0) {
    chains.push({ name: `${name}/http`, filters: [hcm(port, sessions)] });
  }
  chains.push(...terminateChains(protocol('HTTPS'), port, sessions));
  const https = new Set(protocol('HTTPS').map((l) => l.listener.hostname ?? '*'));
  chains.push(...streamChains(protocol('TLS'), state, port, index, warnings, https));
  chains.push(...streamChains(protocol('TCP'), state, port, index, warnings).slice(0, 1));
  const sniRouted = protocol('HTTPS').length + protocol('TLS').length > 0;
  return {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    ...(sniRouted ? { listener_filters: [tlsInspector()] } : {}),
    filter_chains: chains,
  };
}
