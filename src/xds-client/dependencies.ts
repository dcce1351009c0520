/**
 * What a listener or cluster needs before it can be used: the route configurations its
 * HTTP connection managers fetch over RDS, and the assignment an EDS cluster fetches.
 */
import { isHttpConnectionManager, type Resource } from './validate.js';

function record(value: unknown): Resource | undefined {
  return typeof value === 'object' && value !== null ? (value as Resource) : undefined;
}

function rdsName(typedConfig: unknown): string | undefined {
  if (!isHttpConnectionManager(typedConfig)) return undefined;
  const name = record(record(typedConfig)?.rds)?.route_config_name;
  return typeof name === 'string' && name ? name : undefined;
}

/** The RDS names of a listener: its filter chains' and its API listener's. */
export function routeConfigNames(listener: Resource): string[] {
  const names = new Set<string>();
  const chains = Array.isArray(listener.filter_chains) ? [...listener.filter_chains] : [];
  if (listener.default_filter_chain) chains.push(listener.default_filter_chain);
  for (const chain of chains) {
    const filters = record(chain)?.filters;
    for (const filter of Array.isArray(filters) ? filters : []) {
      const name = rdsName(record(filter)?.typed_config);
      if (name) names.add(name);
    }
  }
  const api = rdsName(record(listener.api_listener)?.api_listener);
  if (api) names.add(api);
  return [...names];
}

/** The name under which an EDS cluster's assignment is fetched; undefined for other types. */
export function edsServiceName(cluster: Resource): string | undefined {
  if (cluster.type !== 'EDS') return undefined;
  const serviceName = record(cluster.eds_cluster_config)?.service_name;
  return typeof serviceName === 'string' && serviceName ? serviceName : String(cluster.name);
}
