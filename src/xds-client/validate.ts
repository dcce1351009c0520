/**
 * Built-in validation of each resource type: what the sidecar needs to be true before it
 * can use a resource, beyond what decoding already guarantees. Each validator returns
 * every problem it finds (field path and what is wrong), never throws.
 * Envoy's own constraints (protoc-gen-validate rules in the v3 protos) are the model.
 */
import { durationMs, type envoy, types } from '../xds/index.js';

/** A decoded resource or message: snake_case fields, enums as strings, Any as `@type`. */
export type Resource = Record<string, unknown>;

const HCM_TYPE = types.HTTP_CONNECTION_MANAGER;

function record(value: unknown): Resource | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Resource)
    : undefined;
}

function list(value: unknown): Resource[] {
  return Array.isArray(value) ? (value.map(record).filter(Boolean) as Resource[]) : [];
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/** Whether a typed config (an Any in object form) is an HttpConnectionManager. */
export function isHttpConnectionManager(typedConfig: unknown): boolean {
  return record(typedConfig)?.['@type'] === HCM_TYPE;
}

/** A config source the sidecar can follow: only the ADS stream it already has. */
function overAds(configSource: unknown): boolean {
  const source = record(configSource);
  return source?.ads !== undefined || source?.self !== undefined;
}

function checkHcm(hcm: Resource, path: string, problems: string[]): void {
  const rds = record(hcm.rds);
  const inline = hcm.route_config !== undefined;
  if (!rds && !inline) {
    problems.push(`${path} has neither rds nor route_config`);
    return;
  }
  if (rds) {
    if (!nonEmpty(rds.route_config_name)) problems.push(`${path}.rds.route_config_name is empty`);
    if (!overAds(rds.config_source))
      problems.push(`${path}.rds.config_source must be ads (the only source this client follows)`);
  }
}

/** An address: a socket address is checked; a pipe or an internal address is taken as is. */
function checkAddress(address: unknown, path: string, problems: string[]): void {
  const a = record(address);
  const socket = record(a?.socket_address);
  if (!socket) {
    if (a?.pipe === undefined && a?.envoy_internal_address === undefined)
      problems.push(`${path} has no socket_address`);
    return;
  }
  if (!nonEmpty(socket.address)) problems.push(`${path}.socket_address.address is empty`);
  const port = socket.port_value ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
    problems.push(`${path}.socket_address.port_value ${String(port)} is not a port`);
}

export function validateListener(listener: Resource): string[] {
  const problems: string[] = [];
  const api = record(listener.api_listener);
  if (!listener.address && !api) problems.push('has neither address nor api_listener');
  if (listener.address) checkAddress(listener.address, 'address', problems);
  if (api) {
    if (isHttpConnectionManager(api.api_listener))
      checkHcm(record(api.api_listener)!, 'api_listener.api_listener', problems);
    else problems.push('api_listener.api_listener is not an HttpConnectionManager');
  }
  const chains: Array<readonly [Resource, string]> = list(listener.filter_chains).map(
    (c, i) => [c, `filter_chains[${i}]`] as const,
  );
  const fallback = record(listener.default_filter_chain);
  if (fallback) chains.push([fallback, 'default_filter_chain']);
  for (const [chain, chainPath] of chains) {
    for (const [j, filter] of list(chain.filters).entries()) {
      const path = `${chainPath}.filters[${j}]`;
      if (!nonEmpty(filter.name)) problems.push(`${path}.name is empty`);
      if (isHttpConnectionManager(filter.typed_config))
        checkHcm(record(filter.typed_config)!, `${path}.typed_config`, problems);
    }
  }
  return problems;
}

const PATH_SPECIFIERS = [
  'prefix',
  'path',
  'safe_regex',
  'path_separated_prefix',
  'connect_matcher',
];
const ROUTE_ACTIONS = [
  'route',
  'redirect',
  'direct_response',
  'filter_action',
  'non_forwarding_action',
];
const CLUSTER_SPECIFIERS = [
  'cluster',
  'cluster_header',
  'weighted_clusters',
  'cluster_specifier_plugin',
  'inline_cluster_specifier_plugin',
];

function has(message: Resource | undefined, fields: readonly string[]): boolean {
  return message !== undefined && fields.some((f) => message[f] !== undefined);
}

export function validateRouteConfiguration(config: Resource): string[] {
  const problems: string[] = [];
  const domains = new Map<string, string>();
  for (const [i, vhost] of list(config.virtual_hosts).entries()) {
    const path = `virtual_hosts[${i}]`;
    if (!nonEmpty(vhost.name)) problems.push(`${path}.name is empty`);
    const names = Array.isArray(vhost.domains) ? vhost.domains : [];
    if (names.length === 0) problems.push(`${path}.domains is empty`);
    for (const domain of names) {
      const owner = domains.get(String(domain));
      // Envoy rejects a route configuration that lists a domain twice.
      if (owner !== undefined)
        problems.push(`${path}: domain "${domain}" is already used by virtual host ${owner}`);
      else domains.set(String(domain), String(vhost.name));
    }
    for (const [j, route] of list(vhost.routes).entries()) {
      const routePath = `${path}.routes[${j}]`;
      if (!has(record(route.match), PATH_SPECIFIERS))
        problems.push(`${routePath}.match has no path specifier`);
      if (!has(route, ROUTE_ACTIONS)) problems.push(`${routePath} has no action`);
      const action = record(route.route);
      if (action && !has(action, CLUSTER_SPECIFIERS))
        problems.push(`${routePath}.route names no cluster`);
      const weighted = record(action?.weighted_clusters);
      if (weighted && list(weighted.clusters).length === 0)
        problems.push(`${routePath}.route.weighted_clusters.clusters is empty`);
    }
  }
  return problems;
}

export function validateCluster(cluster: Resource): string[] {
  const problems: string[] = [];
  if (cluster.type === 'EDS') {
    const eds = record(cluster.eds_cluster_config);
    if (!eds) problems.push('type EDS needs eds_cluster_config');
    else if (!overAds(eds.eds_config))
      problems.push(
        'eds_cluster_config.eds_config must be ads (the only source this client follows)',
      );
  }
  if (Number.isNaN(durationMs(record(cluster.connect_timeout) as envoy.Duration | undefined)))
    problems.push('connect_timeout is not a valid non-negative duration');
  const inline = record(cluster.load_assignment);
  if (inline) checkEndpoints(inline, 'load_assignment.', problems);
  return problems;
}

function checkEndpoints(cla: Resource, prefix: string, problems: string[]): void {
  for (const [i, locality] of list(cla.endpoints).entries()) {
    const path = `${prefix}endpoints[${i}]`;
    for (const [j, lb] of list(locality.lb_endpoints).entries()) {
      const endpoint = record(lb.endpoint);
      if (!endpoint) problems.push(`${path}.lb_endpoints[${j}] has no endpoint`);
      else checkAddress(endpoint.address, `${path}.lb_endpoints[${j}].endpoint.address`, problems);
    }
  }
}

export function validateClusterLoadAssignment(cla: Resource): string[] {
  const problems: string[] = [];
  checkEndpoints(cla, '', problems);
  return problems;
}
