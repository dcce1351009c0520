/** Builders for MeshConfig objects in tests (the model of src/mesh/model.ts). */
import type { Endpoint, MeshConfig, Protocol, Service } from '../../src/mesh/index.js';

export function endpoint(
  address: string,
  port: number,
  servicePort: number,
  extra: Partial<Endpoint> = {},
): Endpoint {
  return {
    address,
    ports: { [servicePort]: port },
    labels: {},
    region: '',
    zone: '',
    weight: 1,
    health: 'HEALTHY',
    meshed: false,
    serviceAccount: 'default',
    source: 'mesh-file',
    ...extra,
  };
}

export function service(
  name: string,
  port: number,
  protocol: Protocol,
  endpointPorts: number[],
  extra: Partial<Service> = {},
): Service {
  const namespace = extra.namespace ?? 'default';
  return {
    name,
    namespace,
    hostname: `${name}.${namespace}.svc.cluster.local`,
    ports: [{ port, protocol, name: `${protocol}-${port}` }],
    endpoints: endpointPorts.map((p) => endpoint('127.0.0.1', p, port)),
    policy: { loadBalancer: 'round_robin', connectTimeoutMs: 5000 },
    subsets: [],
    routes: [],
    ...extra,
  };
}

export function mesh(...services: Service[]): MeshConfig {
  return {
    mesh: { trustDomain: 'cluster.local', domain: 'cluster.local', mtls: 'PERMISSIVE' },
    services,
  };
}

export function clusterName(name: string, port: number, namespace = 'default'): string {
  return `outbound|${port}||${name}.${namespace}.svc.cluster.local`;
}
