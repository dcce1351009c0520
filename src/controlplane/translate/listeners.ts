/**
 * A sidecar's listeners. `virtualOutbound` takes the app's outbound traffic: sent to the
 * listener's own port, HTTP routed by host name through the namespace's outbound route
 * configuration; captured by `ferry init`, routed on its original destination (see
 * original-destination.ts), TCP service ports without virtual IPs by destination port.
 * `virtualInbound` takes traffic from other sidecars and hands it to the app.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener.proto
 */
import type { Egress, MeshSettings, MtlsMode, Service, Workload } from '../../mesh/index.js';
import { egressChains, matchesSni } from './egress-routing.js';
import { anyFault, faultFilter } from './fault.js';
import {
  outboundClusterName,
  outboundRouteConfigName,
  VIRTUAL_INBOUND,
  VIRTUAL_OUTBOUND,
} from './names.js';
import { httpConnectionManagerFilter, tcpProxyFilter } from './network-filters.js';
import { originalDestinationChains, passthroughChain } from './original-destination.js';
import { isHttpProtocol } from './protocols.js';
import { anyRouteRateLimit, outboundRateLimitFilter } from './rate-limit.js';
import type { Message } from './resources.js';
import { anySession, statefulSessionFilter } from './stateful-session.js';
import type { ListenerTelemetry } from './telemetry.js';
import { downstreamTlsSocket, tlsInspector } from './tls.js';

/** Listeners of a mesh file without telemetry. */
const NO_TELEMETRY: ListenerTelemetry = { httpAccessLog: [], tcpAccessLog: [] };

function anyAddress(port: number): Message {
  return { socket_address: { address: '0.0.0.0', port_value: port } };
}

/** The match of a chain originalDestinationChains made: a port and addresses. */
interface AddressChain {
  readonly filter_chain_match: {
    readonly destination_port: { readonly value: number };
    readonly prefix_ranges: ReadonlyArray<{ readonly address_prefix: string }>;
  };
}

interface TcpPort {
  readonly port: number;
  readonly cluster: string;
}

/**
 * The TCP ports of the services without virtual IPs, one owner per port: the first service
 * by namespace and name. Connections to a port can only go to one place, so later claimants
 * are warned about, as are HTTP ports of the same number (their port-only traffic becomes
 * TCP), and so is the outbound listener's own port, which is the HTTP chain's.
 */
function tcpPorts(services: readonly Service[], ownPort: number, warnings: string[]): TcpPort[] {
  const owners = new Map<number, TcpPort & { readonly service: Service }>();
  for (const service of services) {
    if ((service.addresses ?? []).length > 0) continue;
    for (const p of service.ports) {
      if (p.protocol !== 'tcp') continue;
      if (p.port === ownPort) {
        warnings.push(
          `tcp port ${p.port} of service ${service.name}.${service.namespace} is the outbound listener's own port; give the service an address to reach it`,
        );
        continue;
      }
      const owner = owners.get(p.port);
      if (owner) {
        warnings.push(
          `tcp port ${p.port} of service ${service.name}.${service.namespace} is already used by ${owner.service.name}.${owner.service.namespace}; outbound connections to it go to the latter`,
        );
        continue;
      }
      owners.set(p.port, {
        port: p.port,
        cluster: outboundClusterName(p.port, service.hostname),
        service,
      });
    }
  }
  for (const service of services) {
    for (const p of service.ports) {
      const owner = owners.get(p.port);
      if (p.protocol === 'tcp' || !owner) continue;
      warnings.push(
        `port ${p.port} of service ${service.name}.${service.namespace} is ${p.protocol}, but tcp for ${owner.service.name}.${owner.service.namespace}; outbound connections to port ${p.port} are proxied as tcp`,
      );
    }
  }
  return [...owners.values()]
    .sort((a, b) => a.port - b.port)
    .map(({ port, cluster }) => ({ port, cluster }));
}

/**
 * The outbound HTTP filters before the router: the fault filter when some route injects
 * faults, then the local rate limit when some route is limited, then the stateful session
 * filter when some route keeps sessions. All act only through the
 * routes' `typed_per_filter_config`; left out when unused, so that a mesh without them
 * gives the same listener as before. Faults go first, as Envoy's fault filter docs advise,
 * so an injected abort does not spend a token.
 */
function outboundHttpFilters(services: readonly Service[], sessions: boolean): Message[] {
  return [
    ...(anyFault(services) ? [faultFilter()] : []),
    ...(anyRouteRateLimit(services) ? [outboundRateLimitFilter()] : []),
    ...(sessions ? [statefulSessionFilter()] : []),
  ];
}

/**
 * `virtualOutbound`. Its chains match on the connection's original destination, which the
 * listener restores (`use_original_dst`) when iptables redirected the app's traffic; a
 * connection made to the listener itself has the listener's port as its destination and
 * gets the HTTP chain (Host-routed, or HTTP_PROXY style). Services' virtual IPs and meshed
 * endpoints' addresses get their chains, TCP ports of services without virtual IPs a
 * port-only chain, the declared external hosts theirs to the egress gateway
 * (egress-routing.ts), and what nothing matches goes through `PassthroughCluster`.
 */
export function outboundListener(
  workload: Workload,
  services: readonly Service[],
  mesh: MeshSettings,
  warnings: string[],
  telemetry: ListenerTelemetry = NO_TELEMETRY,
  egress?: Egress,
  /** Whether some route keeps sessions (GAMMA routes are not among `services`' routes). */
  sessions = anySession(services),
): Message {
  const port = workload.outboundPort;
  const hcm = (statPrefix: string) =>
    httpConnectionManagerFilter({
      statPrefix,
      routeConfigName: outboundRouteConfigName(workload.namespace),
      autoCodec: true,
      httpFilters: outboundHttpFilters(services, sessions),
      tracing: telemetry.tracing,
      accessLog: telemetry.httpAccessLog,
    });
  const http = {
    name: `${VIRTUAL_OUTBOUND}-http`,
    filter_chain_match: { destination_port: { value: port } },
    filters: [hcm(`outbound_0.0.0.0_${port}`)],
  };
  const destinations = originalDestinationChains(
    services,
    mesh,
    (_service, p, cluster) =>
      isHttpProtocol(p.protocol)
        ? [hcm(`outbound_0.0.0.0_${p.port}`)]
        : [tcpProxyFilter(cluster, cluster, telemetry.tcpAccessLog)],
    warnings,
    telemetry.tcpAccessLog,
  );
  const tcp = tcpPorts(services, port, warnings).map((t) => ({
    name: t.cluster,
    filter_chain_match: { destination_port: { value: t.port } },
    filters: [tcpProxyFilter(t.cluster, t.cluster, telemetry.tcpAccessLog)],
  }));
  // The (port, address) pairs services' chains match: an egress address there is warned about.
  const claimed = new Set(
    (destinations as unknown as AddressChain[]).flatMap(({ filter_chain_match: m }) =>
      m.prefix_ranges.map((r) => `${m.destination_port.value} ${r.address_prefix}`),
    ),
  );
  const external = egress
    ? egressChains(
        egress,
        mesh.domain,
        {
          outboundPort: port,
          hcm: (p) => hcm(`outbound_0.0.0.0_${p}`),
          claimed: (p, address) => claimed.has(`${p} ${address}`),
          tcpAccessLog: telemetry.tcpAccessLog,
        },
        warnings,
      )
    : [];
  return {
    name: VIRTUAL_OUTBOUND,
    address: anyAddress(port),
    ...(telemetry.metadata ? { metadata: telemetry.metadata } : {}),
    traffic_direction: 'OUTBOUND',
    use_original_dst: { value: true },
    // The ClientHello is read only where a chain matches by SNI (declared tls hosts).
    ...(matchesSni(egress) ? { listener_filters: [tlsInspector()] } : {}),
    filter_chains: [
      http,
      ...destinations,
      ...tcp,
      ...external,
      passthroughChain(telemetry.tcpAccessLog),
    ],
  };
}

export interface InboundSecurity {
  /** The inbound mTLS mode of the workload's service. */
  readonly mode: MtlsMode;
  /** HTTP filters before the router (HTTP services): RBAC, then the local rate limit. */
  readonly httpFilters: readonly Message[];
  /** Network RBAC filters, before the TCP proxy (tcp-only services). */
  readonly networkFilters: readonly Message[];
}

/**
 * `virtualInbound`: every connection goes to the app's cluster, through an HTTP connection
 * manager with the inbound route configuration (and the service's HTTP RBAC filters), or a
 * TCP proxy (after the network RBAC filters) when the service has only TCP ports.
 *
 * The filter chains follow the mTLS mode, as Istio builds them from a PeerAuthentication:
 * - STRICT: one chain, with a DownstreamTlsContext requiring a client certificate; a
 *   plaintext client fails the handshake. (Istio adds `transport_protocol: tls` to it; with a
 *   single chain that changes nothing but which error the client sees.)
 * - PERMISSIVE: the TLS chain, matched by `transport_protocol: tls` as the tls_inspector
 *   listener filter reports it from the first bytes, and a plaintext chain without a match
 *   that takes every other connection.
 * - DISABLE: the plaintext chain alone.
 * Both chains of a port carry the same filters, so authorization does not depend on how a
 * client connected (a plaintext client simply has no principal).
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto#envoy-v3-api-msg-config-listener-v3-filterchainmatch
 */
export function inboundListener(
  workload: Workload,
  tcpOnly: boolean,
  cluster: string,
  security: InboundSecurity,
  telemetry: ListenerTelemetry = NO_TELEMETRY,
): Message {
  const port = workload.inboundPort;
  const filters = tcpOnly
    ? [...security.networkFilters, tcpProxyFilter(cluster, cluster, telemetry.tcpAccessLog)]
    : [
        httpConnectionManagerFilter({
          statPrefix: `inbound_0.0.0.0_${port}`,
          routeConfigName: cluster,
          autoCodec: true,
          httpFilters: security.httpFilters,
          tracing: telemetry.tracing,
          accessLog: telemetry.httpAccessLog,
        }),
      ];
  const kind = tcpOnly ? 'tcp' : 'http';
  const alpn = tcpOnly ? [] : ['h2', 'http/1.1'];
  const plain = { name: `${VIRTUAL_INBOUND}-${kind}`, filters };
  const chains: Message[] = [];
  if (security.mode === 'STRICT') {
    chains.push({
      name: `${VIRTUAL_INBOUND}-${kind}-mtls`,
      filters,
      transport_socket: downstreamTlsSocket(true, alpn),
    });
  } else if (security.mode === 'PERMISSIVE') {
    chains.push(
      {
        name: `${VIRTUAL_INBOUND}-${kind}-tls`,
        filter_chain_match: { transport_protocol: 'tls' },
        filters,
        transport_socket: downstreamTlsSocket(false, alpn),
      },
      plain,
    );
  } else {
    chains.push(plain);
  }
  return {
    name: VIRTUAL_INBOUND,
    address: anyAddress(port),
    ...(telemetry.metadata ? { metadata: telemetry.metadata } : {}),
    traffic_direction: 'INBOUND',
    ...(security.mode === 'PERMISSIVE' ? { listener_filters: [tlsInspector()] } : {}),
    filter_chains: chains,
  };
}
