/**
 * The sidecars' side of the egress gateway, as Istio sends a ServiceEntry's hosts through
 * its egress gateway with ISTIO_MUTUAL between sidecar and gateway
 * (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/):
 * - HTTP: in every outbound route configuration each declared http host gets a virtual host
 *   whose one route goes to the gateway's HTTP cluster, the Host kept as the app sent it
 *   (the gateway routes by it, translate-egress.ts);
 * - TLS: the app's own TLS to a declared tls host, chosen by its SNI on the outbound
 *   listener, goes as bytes to a cluster per host whose mTLS to the gateway carries that
 *   host as its SNI (Istio's DestinationRule `sni:` for PASSTHROUGH with ISTIO_MUTUAL): the
 *   gateway picks the host by it, unwraps, and passes the app's TLS on untouched.
 * The clusters are named as Istio's sidecars name the egress gateway's
 * (`outbound|<port>|<subset>|<name>.<namespace>.svc.<domain>`, the subset being the tls host),
 * STATIC, their endpoints the connected egress gateway nodes' announced addresses
 * (Egress.gatewayEndpoints): with none connected they have none, and the sidecar answers
 * 503 UH (or closes the connection) rather than letting the traffic leave by another way.
 * Every hop is mutual TLS checking the gateway's SPIFFE ID; a sidecar without a certificate
 * (a mesh without a CA) connects in plaintext, as it does to other sidecars.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto
 */
import { isIP } from 'node:net';
import {
  type Egress,
  type EgressHost,
  type MeshSettings,
  serviceHostname,
  spiffeId,
} from '../../mesh/index.js';
import { hostPortName, outboundClusterName, outboundSni } from './names.js';
import { tcpProxyFilter } from './network-filters.js';
import { prefixRange } from './original-destination.js';
import type { Message } from './resources.js';
import { everyEndpointMtls, mtlsUpstreamContext } from './tls.js';
import { egressDomains, inlineCluster } from './translate-egress.js';

/** `<name>.<namespace>.svc.<domain>`: the egress gateway as a mesh host name. */
function gatewayHostname(egress: Egress, domain: string): string {
  const [namespace, name] = egress.gateway.split('/');
  return serviceHostname(name, namespace, domain);
}

/** The SPIFFE ID the sidecars accept from the egress gateway. */
export function egressGatewayIdentity(egress: Egress, trustDomain: string): string {
  const namespace = egress.gateway.split('/')[0];
  return spiffeId(trustDomain, namespace, egress.serviceAccount);
}

/** The name of the sidecars' cluster toward the egress gateway's HTTP listener. */
export function egressGatewayClusterName(egress: Egress, domain: string): string {
  return outboundClusterName(egress.httpPort, gatewayHostname(egress, domain));
}

/** The name of the sidecars' cluster toward the egress gateway's TLS listener, for one host. */
export function egressTlsClusterName(egress: Egress, host: string, domain: string): string {
  return outboundClusterName(egress.tlsPort, gatewayHostname(egress, domain), host);
}

/** Whether the sidecars have anything to send through the egress gateway. */
export function routesThroughEgress(egress: Egress | undefined): egress is Egress {
  return (egress?.hosts.length ?? 0) > 0;
}

const httpHosts = (egress: Egress) => egress.hosts.filter((h) => h.protocol === 'http');
const tlsHosts = (egress: Egress) => egress.hosts.filter((h) => h.protocol === 'tls');

/** A STATIC cluster of the gateway nodes at `port` (plus each one's offset), mTLS to them all. */
function gatewayCluster(
  egress: Egress,
  name: string,
  port: number,
  mesh: MeshSettings,
  alpn: readonly string[],
  sni: string,
): Message {
  const sockets = (egress.gatewayEndpoints ?? []).map((e) => ({
    address: e.address,
    port: port + e.portOffset,
  }));
  const identity = egressGatewayIdentity(egress, mesh.trustDomain);
  return {
    ...inlineCluster(name, 'STATIC', sockets),
    transport_socket_matches: [everyEndpointMtls(mtlsUpstreamContext([identity], alpn, sni))],
  };
}

/**
 * The sidecars' clusters toward the egress gateway: one for its HTTP listener (when some
 * host is http), one per declared tls host for its TLS listener.
 */
export function egressGatewayClusters(egress: Egress, mesh: MeshSettings): Message[] {
  const out: Message[] = [];
  const host = gatewayHostname(egress, mesh.domain);
  if (httpHosts(egress).length > 0) {
    const name = egressGatewayClusterName(egress, mesh.domain);
    // HTTP/1.1 to the gateway (Ferry's clusters speak one protocol; ALPN says which).
    const sni = outboundSni(egress.httpPort, host);
    out.push(gatewayCluster(egress, name, egress.httpPort, mesh, ['http/1.1'], sni));
  }
  for (const h of tlsHosts(egress)) {
    const name = egressTlsClusterName(egress, h.host, mesh.domain);
    // The app's TLS is carried as bytes: no ALPN of the hop's own.
    out.push(gatewayCluster(egress, name, egress.tlsPort, mesh, [], h.host));
  }
  return out;
}

/** One virtual host per declared http host, for the outbound route configurations. */
export function egressVirtualHosts(egress: Egress, domain: string): Message[] {
  const cluster = egressGatewayClusterName(egress, domain);
  return httpHosts(egress).map((h) => ({
    name: `egress/${hostPortName(h.host, h.port)}`,
    domains: egressDomains(h),
    routes: [
      {
        name: `egress/${hostPortName(h.host, h.port)}`,
        match: { prefix: '/' },
        route: { cluster },
      },
    ],
  }));
}

/** What the outbound listener's egress chains need from it. */
export interface EgressChainContext {
  /** The listener's own port: TLS the app sends to it directly is chosen by SNI there too. */
  readonly outboundPort: number;
  /** The HTTP connection manager of the listener, for a destination port. */
  readonly hcm: (port: number) => Message;
  /** Whether another chain already matches this address on this port (a service's). */
  readonly claimed: (port: number, address: string) => boolean;
  readonly tcpAccessLog: readonly Message[];
}

/**
 * The outbound listener's chains for the declared hosts, for apps that connect to them
 * themselves (the original destination, when `ferry init` captured the connection), by
 * Istio's rules for a ServiceEntry without addresses:
 * - a tls host: its port and its name as the ClientHello's SNI, whatever address the app
 *   resolved (Istio's `0.0.0.0_<port>` listener matching `server_names`); also on the
 *   listener's own port, for apps that send their TLS to the sidecar directly;
 * - an http host given as an IP literal: that address and port, to the HTTP connection
 *   manager, which routes its Host (`<ip>:<port>`) to the gateway;
 * - an http host given as a name needs no chain: a connection to any address on its port is
 *   HTTP, read by the outbound listener's protocol detection and routed by Host when the
 *   Host is declared (Istio's `0.0.0.0_<port>` route configuration), else passed through.
 */
export function egressChains(
  egress: Egress,
  domain: string,
  context: EgressChainContext,
  warnings: string[],
): Message[] {
  const chains: Message[] = [];
  for (const h of egress.hosts) {
    if (h.protocol === 'tls') {
      const cluster = egressTlsClusterName(egress, h.host, domain);
      const ports = [...new Set([h.port, context.outboundPort])];
      for (const port of ports) {
        chains.push({
          name: `egress|${port}|${h.host}`,
          filter_chain_match: {
            destination_port: { value: port },
            server_names: [h.host],
            transport_protocol: 'tls',
          },
          filters: [tcpProxyFilter(cluster, cluster, context.tcpAccessLog)],
        });
      }
    } else if (isIP(h.host) !== 0) {
      if (context.claimed(h.port, h.host)) {
        warnings.push(
          `egress host ${hostPortName(h.host, h.port)} is an address of a service of the mesh; connections to it go to the service`,
        );
        continue;
      }
      chains.push({
        name: `egress|${hostPortName(h.host, h.port)}`,
        filter_chain_match: {
          destination_port: { value: h.port },
          prefix_ranges: [prefixRange(h.host)],
        },
        filters: [context.hcm(h.port)],
      });
    }
  }
  return chains;
}

/** Whether the outbound listener needs the tls_inspector (some chain matches by SNI). */
export function matchesSni(egress: Egress | undefined): boolean {
  return egress?.hosts.some((h: EgressHost) => h.protocol === 'tls') ?? false;
}
