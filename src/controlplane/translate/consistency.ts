/**
 * Checks that a set of resources is complete, as an xDS client walks it: every route
 * configuration a listener names exists, every cluster a route, TCP proxy or tracer names exists,
 * and every EDS cluster has its ClusterLoadAssignment. A client given an incomplete set
 * waits for the missing resource (gRPC until its deadline), so a set that fails this check
 * is not published.
 */
import { types } from '../../xds/index.js';
import { INVALID_BACKEND_CLUSTER } from './gateway-filters.js';
import { HTTP_CONNECTION_MANAGER, TCP_PROXY } from './network-filters.js';
import { RESOURCE_KINDS, type Resources } from './resources.js';
import { OPENTELEMETRY_CONFIG } from './telemetry.js';

type Obj = Record<string, unknown>;

function asObj(x: unknown): Obj | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Obj) : undefined;
}

function asArray(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

function asString(x: unknown): string | undefined {
  return typeof x === 'string' && x !== '' ? x : undefined;
}

/** Every nested object whose `@type` is `fullName`, found anywhere in `value`. */
function typedConfigs(value: unknown, fullName: string, out: Obj[] = []): Obj[] {
  if (Array.isArray(value)) {
    for (const v of value) typedConfigs(v, fullName, out);
  } else {
    const obj = asObj(value);
    if (!obj) return out;
    if (obj['@type'] === types.TYPE_PREFIX + fullName) out.push(obj);
    for (const v of Object.values(obj)) typedConfigs(v, fullName, out);
  }
  return out;
}

/** The clusters named by the routes of a route configuration (with where they are named). */
function routeClusters(routeConfig: Obj): Array<[where: string, cluster: string]> {
  const out: Array<[string, string]> = [];
  for (const vh of asArray(routeConfig.virtual_hosts).map(asObj)) {
    for (const route of asArray(vh?.routes).map(asObj)) {
      const action = asObj(route?.route);
      if (!action) continue;
      const where = `virtual host ${String(vh?.name)} route ${String(route?.name ?? '')}`;
      const single = asString(action.cluster);
      if (single) out.push([where, single]);
      // A gateway route's invalid backends: a cluster never defined on purpose, answered
      // by the route's cluster_not_found_response_code (gateway-route-config.ts).
      const answersMissing = action.cluster_not_found_response_code !== undefined;
      for (const wc of asArray(asObj(action.weighted_clusters)?.clusters).map(asObj)) {
        const name = asString(wc?.name);
        if (name && !(answersMissing && name === INVALID_BACKEND_CLUSTER)) out.push([where, name]);
      }
    }
  }
  return out;
}

/** Errors of an incomplete or ambiguous set; empty when it is consistent. */
export function checkConsistency(resources: Resources): string[] {
  const errors: string[] = [];
  const names = {} as Record<keyof Resources, Set<string>>;
  for (const kind of RESOURCE_KINDS) {
    const set = new Set<string>();
    for (const r of resources[kind]) {
      if (set.has(r.name)) errors.push(`${kind}: ${r.name} is present twice`);
      set.add(r.name);
      const own = (r.value as Obj)[kind === 'endpoints' ? 'cluster_name' : 'name'];
      if (own !== r.name) errors.push(`${kind}: ${r.name} carries the name ${String(own)}`);
    }
    names[kind] = set;
  }
  const needCluster = (owner: string, cluster: string) => {
    if (!names.clusters.has(cluster)) errors.push(`${owner}: cluster ${cluster} does not exist`);
  };

  for (const listener of resources.listeners) {
    const owner = `listener ${listener.name}`;
    for (const hcm of typedConfigs(listener.value, HTTP_CONNECTION_MANAGER)) {
      const rds = asString(asObj(hcm.rds)?.route_config_name);
      if (rds && !names.routes.has(rds)) {
        errors.push(`${owner}: route configuration ${rds} does not exist`);
      }
      const inline = asObj(hcm.route_config);
      if (inline)
        for (const [where, c] of routeClusters(inline)) needCluster(`${owner} ${where}`, c);
    }
    // Spans leave through the collector's cluster (OpenTelemetryConfig's exporter).
    for (const otel of typedConfigs(listener.value, OPENTELEMETRY_CONFIG)) {
      const http = asString(asObj(asObj(otel.http_service)?.http_uri)?.cluster);
      const grpc = asString(asObj(asObj(otel.grpc_service)?.envoy_grpc)?.cluster_name);
      for (const c of [http, grpc]) if (c) needCluster(`${owner} tracing`, c);
    }
    for (const proxy of typedConfigs(listener.value, TCP_PROXY)) {
      const single = asString(proxy.cluster);
      if (single) needCluster(owner, single);
      for (const wc of asArray(asObj(proxy.weighted_clusters)?.clusters).map(asObj)) {
        const name = asString(wc?.name);
        if (name) needCluster(owner, name);
      }
    }
  }

  for (const rc of resources.routes) {
    for (const [where, cluster] of routeClusters(rc.value as Obj)) {
      needCluster(`route configuration ${rc.name} ${where}`, cluster);
    }
  }

  for (const cluster of resources.clusters) {
    const value = cluster.value as Obj;
    if (value.type !== 'EDS') continue;
    const serviceName = asString(asObj(value.eds_cluster_config)?.service_name) ?? cluster.name;
    if (!names.endpoints.has(serviceName)) {
      errors.push(`cluster ${cluster.name}: ClusterLoadAssignment ${serviceName} does not exist`);
    }
  }
  // Several chains of a listener can name the same thing: each problem is said once.
  return [...new Set(errors)];
}
