/**
 * Resources as the sidecar receives them: translated by the control plane, then encoded and
 * decoded through the real Envoy protos (snake_case, enums as strings, Any as `@type`).
 */
import { translateMesh, translateWorkload } from '../../../src/controlplane/translate/index.js';
import type { MeshConfig, Service, Workload } from '../../../src/mesh/index.js';
import { fullMessageType } from '../../controlplane/translate/envoy-protos.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read deep into decoded resources.
export type Loose = any;

export function decode(fullName: string, value: object): Loose {
  const type = fullMessageType(fullName);
  return type.toObject(type.decode(type.encode(type.fromObject(value)).finish()), {
    enums: String,
    longs: Number,
    json: true,
  });
}

export function meshOf(
  services: Service[],
  mtls: MeshConfig['mesh']['mtls'] = 'PERMISSIVE',
): MeshConfig {
  return { mesh: { trustDomain: 'cluster.local', domain: 'cluster.local', mtls }, services };
}

export function svc(name: string, extra: Partial<Service> = {}): Service {
  return {
    name,
    namespace: 'default',
    hostname: `${name}.default.svc.cluster.local`,
    ports: [{ port: 8080, protocol: 'http', name: 'http' }],
    endpoints: [],
    policy: { loadBalancer: 'round_robin', connectTimeoutMs: 1000 },
    subsets: [],
    routes: [],
    ...extra,
  };
}

export function decodedCluster(config: MeshConfig, name: string): Loose {
  const r = translateMesh(config).resources.clusters.find((c) => c.name === name);
  if (!r) throw new Error(`no cluster ${name}`);
  return decode('envoy.config.cluster.v3.Cluster', r.value);
}

export function decodedAssignment(config: MeshConfig, name: string): Loose {
  const r = translateMesh(config).resources.endpoints.find((c) => c.name === name);
  if (!r) throw new Error(`no assignment ${name}`);
  return decode('envoy.config.endpoint.v3.ClusterLoadAssignment', r.value);
}

export function decodedInbound(
  config: MeshConfig,
  service: string,
  extra: Partial<Workload> = {},
): Loose {
  const t = translateWorkload(config, {
    id: 'w',
    service,
    namespace: 'default',
    labels: {},
    serviceAccount: 'default',
    address: '127.0.0.1',
    inboundPort: 15006,
    outboundPort: 15001,
    appPort: 8000,
    region: '',
    zone: '',
    health: 'HEALTHY',
    ...extra,
  });
  const r = t.resources.listeners.find((l) => l.name === 'virtualInbound');
  if (!r) throw new Error('no virtualInbound');
  return decode('envoy.config.listener.v3.Listener', r.value);
}
