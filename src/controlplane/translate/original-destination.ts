/**
 * Routing on a connection's original destination, for apps whose traffic `ferry init`
 * captures: `virtualOutbound` restores the address the app asked for (`use_original_dst`)
 * and its filter chains match on it, as Istio's do.
 * - A service's virtual IPs (`addresses`) on a service port: the service (a TCP proxy to its
 *   cluster, or the HTTP connection manager).
 * - A meshed endpoint's own address (a pod IP) on a service port: mutual TLS to exactly that
 *   address, through an ORIGINAL_DST cluster per service port.
 * - Anything else: `PassthroughCluster`, plain TCP to the original destination.
 * Filter chains are chosen by destination port first, then by the most specific address
 * prefix (Envoy's FilterChainMatch order), so these never clash with the port-only chains.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto#envoy-v3-api-msg-config-listener-v3-filterchainmatch
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/service_discovery#original-destination
 */
import { isIP } from 'node:net';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  effectiveMtls,
  type MeshSettings,
  type Service,
  type ServicePort,
} from '../../mesh/index.js';
import { durationFromMs } from '../../xds/index.js';
import {
  endpointClusterName,
  outboundClusterName,
  outboundSni,
  PASSTHROUGH_CLUSTER,
} from './names.js';
import { tcpProxyFilter } from './network-filters.js';
import type { Message } from './resources.js';
import { everyEndpointMtls, upstreamTlsContext, usesMtls } from './tls.js';

/** The name of the chain that takes what no other chain matches. */
export const PASSTHROUGH_CHAIN = 'PassthroughFilterChain';

/** Istio's connect timeout for passthrough traffic (its mesh default). */
const PASSTHROUGH_CONNECT_TIMEOUT_MS = 10_000;

function originalDstCluster(name: string, connectTimeoutMs: number): Message {
  return {
    name,
    type: 'ORIGINAL_DST',
    // ORIGINAL_DST clusters must use the cluster-provided balancer.
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: durationFromMs(connectTimeoutMs),
  };
}

/** `PassthroughCluster`: plain TCP to wherever the app connected. */
export function passthroughCluster(): Message {
  return originalDstCluster(PASSTHROUGH_CLUSTER, PASSTHROUGH_CONNECT_TIMEOUT_MS);
}

/** Loopback is never captured (`ferry init` leaves it alone), so it needs no chain. */
function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** The addresses of the endpoints of a service that its clients reach with mutual TLS. */
function meshedAddresses(service: Service, mesh: MeshSettings): string[] {
  const mode = effectiveMtls(service, mesh);
  const out = new Set<string>();
  for (const e of service.endpoints) {
    if (usesMtls(e, mode) && isIP(e.address) && !isLoopback(e.address)) out.add(e.address);
  }
  return [...out].sort();
}

/**
 * The ORIGINAL_DST clusters of a service's meshed endpoints, one per port: mutual TLS (the
 * same identities as the service's cluster checks) to the address the app asked for. The
 * TLS sits in a `transport_socket_matches` entry with an empty match, which every host
 * matches, rather than in `transport_socket`, which proxyless gRPC clients NACK (see tls.ts).
 */
export function endpointClusters(service: Service, mesh: MeshSettings): Message[] {
  if (meshedAddresses(service, mesh).length === 0) return [];
  return service.ports.map((port) => {
    const name = endpointClusterName(port.port, service.hostname);
    // The stream is carried as it is: the peer's inbound listener tells its protocol.
    const opaque: ServicePort = { ...port, protocol: 'tcp' };
    return {
      ...originalDstCluster(name, service.policy.connectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS),
      transport_socket_matches: [
        everyEndpointMtls(
          upstreamTlsContext(service, opaque, mesh, outboundSni(port.port, service.hostname)),
        ),
      ],
    };
  });
}

/** A host prefix (/32, /128) matching exactly one address. */
export function prefixRange(address: string): Message {
  return { address_prefix: address, prefix_len: { value: isIP(address) === 6 ? 128 : 32 } };
}

/** What carries a service port's connections once a chain has matched them. */
export type ChainFilters = (service: Service, port: ServicePort, cluster: string) => Message[];

/**
 * The chains for services' virtual IPs and meshed endpoints' addresses. A (port, address)
 * pair can be matched by one chain only (Envoy rejects a listener with two identical
 * matches): the first service by namespace and name keeps it, and later ones are warned about.
 */
export function originalDestinationChains(
  services: readonly Service[],
  mesh: MeshSettings,
  serviceFilters: ChainFilters,
  warnings: string[],
  tcpAccessLog: readonly Message[] = [],
): Message[] {
  const claimed = new Map<string, string>();
  const claim = (service: Service, port: number, addresses: readonly string[], what: string) =>
    addresses.filter((address) => {
      const key = `${port} ${address}`;
      const owner = claimed.get(key);
      const self = `${service.name}.${service.namespace}`;
      if (owner === undefined) {
        claimed.set(key, self);
        return true;
      }
      warnings.push(
        `${what} ${address} port ${port} of service ${self} is already matched for ${owner}; connections to it go to the latter`,
      );
      return false;
    });
  const vips: Message[] = [];
  const endpoints: Message[] = [];
  for (const service of services) {
    const pods = meshedAddresses(service, mesh);
    for (const port of service.ports) {
      const cluster = outboundClusterName(port.port, service.hostname);
      const vip = claim(service, port.port, service.addresses ?? [], 'address');
      if (vip.length > 0) {
        vips.push({
          name: cluster,
          filter_chain_match: {
            destination_port: { value: port.port },
            prefix_ranges: vip.map(prefixRange),
          },
          filters: serviceFilters(service, port, cluster),
        });
      }
      const own = claim(service, port.port, pods, 'endpoint address');
      if (own.length > 0) {
        const name = endpointClusterName(port.port, service.hostname);
        endpoints.push({
          name,
          filter_chain_match: {
            destination_port: { value: port.port },
            prefix_ranges: own.map(prefixRange),
          },
          filters: [tcpProxyFilter(name, name, tcpAccessLog)],
        });
      }
    }
  }
  return [...vips, ...endpoints];
}

/** The chain without a match: what no other chain takes goes out as it came. */
export function passthroughChain(accessLog: readonly Message[] = []): Message {
  return {
    name: PASSTHROUGH_CHAIN,
    filters: [tcpProxyFilter(PASSTHROUGH_CLUSTER, PASSTHROUGH_CLUSTER, accessLog)],
  };
}
