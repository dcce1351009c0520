/** Services of a mesh config in translation order, found by name and namespace. */
import { type MeshConfig, type Service, serviceKey } from '../../mesh/index.js';

export interface ServiceIndex {
  /** Sorted by namespace, then name. */
  readonly services: readonly Service[];
  find(name: string, namespace: string): Service | undefined;
}

export function compareServices(a: Service, b: Service): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Indexes a config's services; of two with the same name and namespace the first wins. */
export function indexServices(config: MeshConfig): ServiceIndex {
  const byKey = new Map<string, Service>();
  for (const s of config.services) {
    const key = serviceKey(s.name, s.namespace);
    if (!byKey.has(key)) byKey.set(key, s);
  }
  const services = [...byKey.values()].sort(compareServices);
  return { services, find: (name, namespace) => byKey.get(serviceKey(name, namespace)) };
}
