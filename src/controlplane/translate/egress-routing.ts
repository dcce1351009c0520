/**
 * The sidecars' side of the egress gateway, as Istio routes a ServiceEntry's HTTP host
 * through its egress gateway (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/):
 * in every outbound route configuration each declared http host gets a virtual host whose
 * one route goes to the egress gateway's cluster, the Host kept as the app sent it (the
 * gateway routes by it, translate-egress.ts). The cluster is named as Istio's sidecars name
 * the egress gateway's (`outbound|<httpPort>||<name>.<namespace>.svc.<domain>`), STATIC, its
 * endpoints the connected egress gateway nodes' announced addresses (Egress.gatewayEndpoints):
 * with none connected it has none, and the sidecar answers 503 UH rather than letting the
 * request leave by another way.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto
 */
import { type Egress, serviceHostname } from '../../mesh/index.js';
import { hostPortName, outboundClusterName } from './names.js';
import type { Message } from './resources.js';
import { egressDomains, inlineCluster } from './translate-egress.js';

/** The name of the sidecars' cluster toward the egress gateway's HTTP listener. */
export function egressGatewayClusterName(egress: Egress, domain: string): string {
  const [namespace, name] = egress.gateway.split('/');
  return outboundClusterName(egress.httpPort, serviceHostname(name, namespace, domain));
}

/** Whether the sidecars have anything to send through the egress gateway (http hosts). */
export function routesThroughEgress(egress: Egress | undefined): egress is Egress {
  return egress?.hosts.some((h) => h.protocol === 'http') ?? false;
}

/** The sidecars' cluster toward the egress gateway's HTTP listener. */
export function egressGatewayCluster(egress: Egress, domain: string): Message {
  const name = egressGatewayClusterName(egress, domain);
  return inlineCluster(name, 'STATIC', egress.gatewayEndpoints ?? []);
}

/** One virtual host per declared http host, for the outbound route configurations. */
export function egressVirtualHosts(egress: Egress, domain: string): Message[] {
  const cluster = egressGatewayClusterName(egress, domain);
  return egress.hosts
    .filter((h) => h.protocol === 'http')
    .map((h) => ({
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
