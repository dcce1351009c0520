/**
 * The proxy config a sidecar of a workload would assemble from the control plane's
 * translation, every resource through the wire (encoded, then decoded), for the runtime tests.
 */
import { translateMesh, translateWorkload } from '../../../src/controlplane/translate/index.js';
import type { MeshConfig, Workload } from '../../../src/mesh/index.js';
import { decodeResource, encodeResource, types } from '../../../src/xds/index.js';
import type { ProxyConfig, ResourceEntry } from '../../../src/xds-client/index.js';

export function wireProxyConfig(config: MeshConfig, w: Workload): ProxyConfig {
  const shared = translateMesh(config).resources;
  const own = translateWorkload(config, w).resources;
  const wire = (typeUrl: string, list: ReadonlyArray<{ name: string; value: object }>) =>
    new Map<string, ResourceEntry>(
      list.map((r) => [
        r.name,
        {
          name: r.name,
          version: '1',
          value: decodeResource(typeUrl, encodeResource(typeUrl, r.value)),
        },
      ]),
    );
  return {
    version: 1,
    listeners: wire(types.LISTENER, own.listeners),
    routes: wire(types.ROUTE, [...shared.routes, ...own.routes]),
    clusters: wire(types.CLUSTER, [...shared.clusters, ...own.clusters]),
    endpoints: wire(types.ENDPOINT, shared.endpoints),
  } as unknown as ProxyConfig;
}
