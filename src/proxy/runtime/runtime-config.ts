/**
 * The compiled configuration the data path runs on: route tables for the outbound and
 * inbound listeners and runtime clusters, built once per xDS update and swapped in whole.
 * Pieces whose resources did not change are reused from the previous build.
 */
import { types } from '../../xds/index.js';
import type { ProxyConfig, ResourceEntry } from '../../xds-client/index.js';
import {
  buildCluster,
  type ClusterResource,
  edsName,
  type RuntimeCluster,
} from '../cluster/index.js';
import type { RouteView } from '../http/index.js';
import {
  type ClusterLbConfig,
  type ClusterLoadAssignment,
  formatLbError,
  HostSet,
  parseClusterLb,
} from '../lb/index.js';
import {
  compileRouteTable,
  type RouteConfigurationLike,
  type RouteTable,
} from '../router/index.js';

export const { VIRTUAL_OUTBOUND, VIRTUAL_INBOUND } = types;
const HCM = types.HTTP_CONNECTION_MANAGER;

export interface RuntimeConfig {
  readonly version: number;
  readonly outbound: RouteView;
  readonly inbound: RouteView;
  readonly clusters: ReadonlyMap<string, RuntimeCluster>;
  /** The xDS resources it was built from (for /config_dump). */
  readonly source: ProxyConfig;
  /** Route tables by route configuration name, with the version they were built from. */
  readonly tables: ReadonlyMap<string, { readonly version: string; readonly table: RouteTable }>;
}

interface ListenerLike {
  filter_chains?: Array<{
    filter_chain_match?: object;
    filters?: Array<{ typed_config?: { '@type'?: string; rds?: { route_config_name?: string } } }>;
  }>;
}

/** The RDS name of a listener's HTTP filter chain (the one without a match). */
export function listenerRouteName(listener: ListenerLike | undefined): string | undefined {
  for (const chain of listener?.filter_chains ?? []) {
    if (chain.filter_chain_match && Object.keys(chain.filter_chain_match).length > 0) continue;
    for (const f of chain.filters ?? []) {
      if (f.typed_config?.['@type'] === HCM) return f.typed_config.rds?.route_config_name;
    }
  }
  return undefined;
}

/** The consumer-side validation the xDS client runs before ACKing (NACK on error). */
export function validateResource(typeUrl: string, name: string, value: object): string | undefined {
  if (typeUrl.endsWith('.RouteConfiguration')) {
    const r = compileRouteTable(value as RouteConfigurationLike);
    return r.ok ? undefined : r.error;
  }
  if (typeUrl.endsWith('.Cluster')) {
    const r = parseClusterLb(value as ClusterLbConfig);
    return r.ok ? undefined : r.errors.map(formatLbError).join('; ');
  }
  if (typeUrl.endsWith('.ClusterLoadAssignment')) {
    const r = new HostSet(name).update(value as ClusterLoadAssignment);
    return r.ok ? undefined : r.errors.map(formatLbError).join('; ');
  }
  return undefined;
}

export type CompileResult =
  | { readonly ok: true; readonly config: RuntimeConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

export function compileRuntime(
  source: ProxyConfig,
  previous: RuntimeConfig | undefined,
  random: () => number,
): CompileResult {
  const errors: string[] = [];
  const tables = new Map<string, { version: string; table: RouteTable }>();
  for (const [name, entry] of source.routes) {
    const before = previous?.tables.get(name);
    if (before && before.version === entry.version) {
      tables.set(name, before);
      continue;
    }
    const r = compileRouteTable(entry.value as RouteConfigurationLike);
    if (r.ok) tables.set(name, { version: entry.version, table: r.table });
    else errors.push(r.error);
  }
  const clusters = new Map<string, RuntimeCluster>();
  for (const [name, entry] of source.clusters) {
    const resource = entry.value as unknown as ClusterResource;
    const assignment: ResourceEntry | undefined =
      resource.type === 'EDS' ? source.endpoints.get(edsName(resource)) : undefined;
    const built = buildCluster(
      resource,
      assignment?.value as ClusterLoadAssignment | undefined,
      previous?.clusters.get(name),
      random,
    );
    if (built.ok) clusters.set(name, built.cluster);
    else errors.push(`cluster ${name}: ${built.error}`);
  }
  if (errors.length) return { ok: false, errors };
  const tableOf = (listener: string) => {
    const rds = listenerRouteName(source.listeners.get(listener)?.value as ListenerLike);
    return rds === undefined ? undefined : tables.get(rds)?.table;
  };
  return {
    ok: true,
    config: {
      version: source.version,
      outbound: { table: tableOf(VIRTUAL_OUTBOUND), clusters },
      inbound: { table: tableOf(VIRTUAL_INBOUND), clusters },
      clusters,
      source,
      tables,
    },
  };
}
