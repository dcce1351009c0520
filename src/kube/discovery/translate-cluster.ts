/**
 * Services, EndpointSlices and Pods → the mesh model's services and endpoints (SPEC
 * "Service discovery", source 3). Pure: the same cluster state always gives the same
 * services, sorted, so that every control-plane replica computes the same configuration.
 *
 * - A Service becomes a mesh service `<name>.<namespace>.svc.<domain>` with its TCP ports
 *   (UDP and SCTP are not proxied), each port's protocol from appProtocol, name or number,
 *   and its cluster IPs (both families) as the service's addresses, which a captured
 *   connection is routed on; a headless Service (clusterIP None) has none.
 *   ExternalName Services have no endpoints to discover and are left out.
 * - Each endpoint of its EndpointSlices (label kubernetes.io/service-name) becomes an
 *   endpoint: its first address (the API says the others are to be ignored), the slice's
 *   port numbers matched to the Service's ports by name, the zone and region, health from
 *   the conditions, and from its Pod (targetRef): labels, the service account and whether
 *   Ferry injected a sidecar (the ferry.io/status annotation).
 */
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_SERVICE_ACCOUNT,
  type Endpoint,
  type Service,
  type ServicePort,
  serviceHostname,
} from '../../mesh/index.js';
import { endpointHealth } from './endpoint-health.js';
import {
  type ClusterState,
  type KubeEndpointSlice,
  type KubePod,
  type KubeService,
  SERVICE_NAME_LABEL,
} from './kube-objects.js';
import { portProtocol } from './port-protocol.js';

/** Written by Ferry's injector on every pod it injected (src/kube/inject). */
export const INJECTED_ANNOTATION = 'ferry.io/status';

const REGION_LABEL = 'topology.kubernetes.io/region';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface TranslateClusterOptions {
  /** DNS suffix of host names (the mesh's `domain`). */
  readonly domain: string;
}

export function translateCluster(state: ClusterState, options: TranslateClusterOptions): Service[] {
  const pods = new Map<string, KubePod>();
  for (const pod of state.pods) pods.set(key(pod.metadata?.namespace, pod.metadata?.name), pod);
  const slicesByService = new Map<string, KubeEndpointSlice[]>();
  for (const slice of state.endpointSlices) {
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!service) continue;
    const k = key(slice.metadata?.namespace, service);
    const list = slicesByService.get(k) ?? [];
    list.push(slice);
    slicesByService.set(k, list);
  }
  const services: Service[] = [];
  for (const svc of state.services) {
    const translated = translateService(svc, slicesByService, pods, options);
    if (translated) services.push(translated);
  }
  return services.sort((a, b) => compare(a.hostname, b.hostname));
}

function translateService(
  svc: KubeService,
  slicesByService: ReadonlyMap<string, KubeEndpointSlice[]>,
  pods: ReadonlyMap<string, KubePod>,
  options: TranslateClusterOptions,
): Service | undefined {
  const name = svc.metadata?.name;
  const namespace = svc.metadata?.namespace ?? 'default';
  if (!name || svc.spec?.type === 'ExternalName') return undefined;
  const kubePorts = (svc.spec?.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP');
  const ports: ServicePort[] = kubePorts.map((p) => {
    const protocol = portProtocol(p);
    return { port: p.port, protocol, name: p.name || `${protocol}-${p.port}` };
  });
  // The slices name ports as the Service does; an unnamed (single) port is "".
  const portNames = kubePorts.map((p) => p.name ?? '');
  const slices = [...(slicesByService.get(key(namespace, name)) ?? [])].sort((a, b) =>
    compare(a.metadata?.name ?? '', b.metadata?.name ?? ''),
  );
  const byAddress = new Map<string, Endpoint>();
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const slicePorts = new Map<string, number>();
    for (const p of slice.ports ?? []) {
      if ((p.protocol ?? 'TCP') === 'TCP' && typeof p.port === 'number')
        slicePorts.set(p.name ?? '', p.port);
    }
    const endpointPorts: Record<number, number> = {};
    kubePorts.forEach((p, i) => {
      const target = slicePorts.get(portNames[i]);
      if (target !== undefined) endpointPorts[p.port] = target;
    });
    if (Object.keys(endpointPorts).length === 0) continue;
    for (const ep of slice.endpoints ?? []) {
      const address = ep.addresses?.[0];
      // While a Service's slices are being rewritten an address may sit in two of them
      // for a moment; the first by slice name wins so that every replica agrees.
      if (!address || byAddress.has(address)) continue;
      const pod =
        ep.targetRef?.kind === 'Pod'
          ? pods.get(key(ep.targetRef.namespace ?? namespace, ep.targetRef.name))
          : undefined;
      byAddress.set(address, {
        address,
        ports: endpointPorts,
        labels: { ...(pod?.metadata?.labels ?? {}) },
        region: ep.deprecatedTopology?.[REGION_LABEL] ?? '',
        zone: ep.zone ?? ep.deprecatedTopology?.[ZONE_LABEL] ?? '',
        weight: 1,
        health: endpointHealth(ep.conditions),
        meshed: pod?.metadata?.annotations?.[INJECTED_ANNOTATION] !== undefined,
        serviceAccount: pod?.spec?.serviceAccountName || DEFAULT_SERVICE_ACCOUNT,
        source: `kubernetes:${namespace}/${slice.metadata?.name ?? ''}`,
      });
    }
  }
  const addresses = clusterIps(svc);
  const endpoints = [...byAddress.values()].sort((a, b) => compare(a.address, b.address));
  // Membership is the Service's selector (its EndpointSlices) and the pods' service accounts:
  // exactly those identities are admitted, whatever a sidecar announces.
  const serviceAccounts = [...new Set(endpoints.map((e) => e.serviceAccount))].sort(compare);
  return {
    name,
    namespace,
    hostname: serviceHostname(name, namespace, options.domain),
    ...(addresses.length > 0 ? { addresses } : {}),
    serviceAccounts,
    ports,
    endpoints,
    policy: { loadBalancer: 'round_robin', connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS },
    subsets: [],
    routes: [],
  };
}

/** The Service's virtual IPs: clusterIPs (dual-stack) or clusterIP; none when headless. */
function clusterIps(svc: KubeService): string[] {
  const spec = svc.spec;
  const all = spec?.clusterIPs?.length ? spec.clusterIPs : spec?.clusterIP ? [spec.clusterIP] : [];
  return [...new Set(all.filter((ip) => ip !== 'None' && ip !== ''))];
}

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
