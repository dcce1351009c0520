/**
 * The configuration the client hands to the proxy: every accepted resource of the four
 * types, immutable and complete (every route configuration a listener names and every
 * assignment an EDS cluster needs is there).
 */
import { types } from '../xds/index.js';
import type { ResourceStore } from './resource-store.js';
import type { Want } from './xds-stream.js';

export interface ResourceEntry<T = Record<string, unknown>> {
  readonly name: string;
  /** The version the resource had when it last changed (delta: its own; SotW: the response's). */
  readonly version: string;
  readonly value: T;
  /** What the consumer's compile hook made of it when it arrived (undefined without one). */
  readonly compiled: unknown;
}

export interface ProxyConfig {
  /** Increments with each configuration the client emits. */
  readonly version: number;
  readonly listeners: ReadonlyMap<string, ResourceEntry>;
  readonly routes: ReadonlyMap<string, ResourceEntry>;
  readonly clusters: ReadonlyMap<string, ResourceEntry>;
  /** ClusterLoadAssignments by cluster (the EDS service_name, or the cluster's name). */
  readonly endpoints: ReadonlyMap<string, ResourceEntry>;
  /** SDS Secrets by name: the certificates the listeners' TLS contexts name (gateways). */
  readonly secrets: ReadonlyMap<string, ResourceEntry>;
}

/** A resource the configuration still waits for; no name: the type's first response. */
export interface Missing {
  readonly typeUrl: string;
  readonly name: string | undefined;
}

/** What keeps the store's content from being a complete configuration; empty when it is one. */
export function missingResources(
  store: ResourceStore,
  wants: ReadonlyMap<string, Want>,
): Missing[] {
  const missing: Missing[] = [];
  for (const [typeUrl, want] of wants) {
    if (want === '*') {
      if (!store.hasReceived(typeUrl)) missing.push({ typeUrl, name: undefined });
      continue;
    }
    for (const name of want) if (!store.has(typeUrl, name)) missing.push({ typeUrl, name });
  }
  return missing;
}

export function buildConfig(store: ResourceStore, version: number): ProxyConfig {
  return Object.freeze({
    version,
    listeners: store.snapshot(types.LISTENER),
    routes: store.snapshot(types.ROUTE),
    clusters: store.snapshot(types.CLUSTER),
    endpoints: store.snapshot(types.ENDPOINT),
    secrets: store.snapshot(types.SECRET),
  });
}
