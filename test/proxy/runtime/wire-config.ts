/**
 * The proxy config a sidecar of a workload would assemble from the control plane's
 * translation, every resource through the wire (encoded, then decoded) and compiled as the
 * sidecar's xDS client compiles it, for the runtime tests.
 */
import { translateMesh, translateWorkload } from '../../../src/controlplane/translate/index.js';
import type { MeshConfig, Workload } from '../../../src/mesh/index.js';
import { ResourceCompiler } from '../../../src/proxy/runtime/index.js';
import { decodeResource, encodeResource, types } from '../../../src/xds/index.js';
import type { ProxyConfig, ResourceEntry } from '../../../src/xds-client/index.js';

/** Entries of one type as the xDS client keeps them: value and compiled form (asserted ok). */
export function compiledEntries(
  typeUrl: string,
  list: ReadonlyArray<{ name: string; value: object }>,
  compiler = new ResourceCompiler(),
): Map<string, ResourceEntry> {
  return new Map<string, ResourceEntry>(
    list.map((r) => {
      const value = r.value as Record<string, unknown>;
      const outcome = compiler.compile(typeUrl, r.name, value, undefined);
      if (!outcome.ok) throw new Error(`${r.name} does not compile: ${outcome.error}`);
      return [r.name, { name: r.name, version: '1', value, compiled: outcome.compiled }];
    }),
  );
}

export function wireProxyConfig(config: MeshConfig, w: Workload): ProxyConfig {
  const shared = translateMesh(config).resources;
  const own = translateWorkload(config, w).resources;
  const wire = (typeUrl: string, list: ReadonlyArray<{ name: string; value: object }>) =>
    compiledEntries(
      typeUrl,
      list.map((r) => ({
        name: r.name,
        value: decodeResource(typeUrl, encodeResource(typeUrl, r.value)),
      })),
    );
  return {
    version: 1,
    listeners: wire(types.LISTENER, own.listeners),
    routes: wire(types.ROUTE, [...shared.routes, ...own.routes]),
    clusters: wire(types.CLUSTER, [...shared.clusters, ...own.clusters]),
    endpoints: wire(types.ENDPOINT, shared.endpoints),
  } as unknown as ProxyConfig;
}

/** Why the sidecar would NACK a resource (its compile error), or undefined if it compiles. */
export function compileError(typeUrl: string, name: string, value: object): string | undefined {
  const outcome = new ResourceCompiler().compile(typeUrl, name, value, undefined);
  return outcome.ok ? undefined : outcome.error;
}
