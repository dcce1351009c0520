/**
 * The mesh file and Kubernetes discovery as one list of services (SPEC "Service
 * discovery": three sources, one registry). The mesh file says how a service is treated
 * (ports, policy, routes, subsets, authorization); the cluster says where it runs. So a
 * service both declare keeps the mesh file's declaration and gains the cluster's endpoints
 * after its own static ones (and admits the service accounts of both) (and the cluster IPs as its addresses, when the file gives it
 * none); a service only the cluster has is added as discovered. The
 * order is fixed (the mesh file's, then the cluster's sorted list), so that every replica
 * computes the same configuration.
 */
import {
  admittedServiceAccounts,
  type MeshConfig,
  type Service,
  serviceKey,
} from '../mesh/index.js';

/** Endpoints discovered from the cluster say so in their source (translate-cluster.ts). */
export const CLUSTER_SOURCE_PREFIX = 'kubernetes:';

export function mergeCluster(config: MeshConfig, cluster: readonly Service[]): MeshConfig {
  if (cluster.length === 0) return config;
  const discovered = new Map<string, Service>();
  for (const s of cluster) discovered.set(serviceKey(s.name, s.namespace), s);
  const services: Service[] = config.services.map((declared) => {
    const key = serviceKey(declared.name, declared.namespace);
    const found = discovered.get(key);
    if (!found) return declared;
    discovered.delete(key);
    const own = new Set(declared.endpoints.map((e) => e.address));
    const addresses = declared.addresses?.length ? declared.addresses : found.addresses;
    // Who may join: what the file admits and the accounts of the pods the Service selects.
    const accounts = new Set([
      ...admittedServiceAccounts(declared),
      ...(found.serviceAccounts ?? []),
    ]);
    return {
      ...declared,
      ...(addresses?.length ? { addresses } : {}),
      serviceAccounts: [...accounts],
      endpoints: [...declared.endpoints, ...found.endpoints.filter((e) => !own.has(e.address))],
    };
  });
  return { ...config, services: [...services, ...discovered.values()] };
}
