/**
 * Route actions: where a route sends traffic (one cluster or a weighted split), with the
 * timeout, retries, hashing and rewrites that apply on the way.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routeaction
 */
import type { Route, Service, ServicePort } from '../../mesh/index.js';
import { durationFromMs } from '../../xds/index.js';
import { outboundClusterName } from './names.js';
import type { Message } from './resources.js';
import { hashPolicy, retryPolicy } from './retry-policy.js';
import type { ServiceIndex } from './service-index.js';

interface WeightedTarget {
  readonly cluster: string;
  readonly service: Service;
  weight: number;
}

/**
 * The clusters a route's backends resolve to, in backend order, with weights summed when
 * two backends name the same cluster. Backends that name a missing service, port or subset
 * are left out with a warning. Empty backends mean the routed service itself.
 */
function resolveBackends(
  index: ServiceIndex,
  service: Service,
  port: ServicePort,
  route: Route,
  warnings: string[],
): WeightedTarget[] {
  if (route.backends.length === 0) {
    return [{ cluster: outboundClusterName(port.port, service.hostname), service, weight: 1 }];
  }
  const where = `service ${service.name}.${service.namespace} port ${port.port} route ${route.name}`;
  const targets = new Map<string, WeightedTarget>();
  for (const b of route.backends) {
    const target = index.find(b.service, b.namespace);
    const targetPort = b.port ?? port.port;
    let problem: string | undefined;
    if (!target) problem = `service ${b.service}.${b.namespace} does not exist`;
    else if (!target.ports.some((p) => p.port === targetPort)) {
      problem = `service ${b.service}.${b.namespace} has no port ${targetPort}`;
    } else if (b.subset !== undefined && !target.subsets.some((s) => s.name === b.subset)) {
      problem = `service ${b.service}.${b.namespace} has no subset ${b.subset}`;
    }
    if (problem || !target) {
      warnings.push(`${where}: backend skipped: ${problem}`);
      continue;
    }
    const cluster = outboundClusterName(targetPort, target.hostname, b.subset);
    const weight = Number.isFinite(b.weight) ? Math.max(0, Math.round(b.weight)) : 0;
    const seen = targets.get(cluster);
    if (seen) seen.weight += weight;
    else targets.set(cluster, { cluster, service: target, weight });
  }
  return [...targets.values()];
}

/** Settings of a route action that do not depend on its destination. */
interface ActionSettings {
  readonly retries?: Route['retries'];
  readonly rewrite?: Route['rewrite'];
}

function actionSettings(
  first: Service,
  timeoutMs: number | undefined,
  settings: ActionSettings,
): Message {
  const retries = settings.retries && retryPolicy(settings.retries);
  const hash = hashPolicy(first.policy);
  const rewrite = settings.rewrite;
  return {
    ...(rewrite?.prefix !== undefined ? { prefix_rewrite: rewrite.prefix } : {}),
    ...(rewrite?.authority !== undefined ? { host_rewrite_literal: rewrite.authority } : {}),
    ...(timeoutMs !== undefined ? { timeout: durationFromMs(timeoutMs) } : {}),
    ...(retries ? { retry_policy: retries } : {}),
    ...(hash ? { hash_policy: hash } : {}),
  };
}

/**
 * The RouteAction of a mesh route on one port of a service, or undefined (with a warning)
 * when none of its backends resolve or their weights add up to 0. The timeout and retries
 * are the route's own, else the routed service's policy; consistent hashing follows the
 * policy of the first backend's service, whose balancer it feeds.
 */
export function routeAction(
  index: ServiceIndex,
  service: Service,
  port: ServicePort,
  route: Route,
  warnings: string[],
): Message | undefined {
  const targets = resolveBackends(index, service, port, route, warnings);
  const where = `service ${service.name}.${service.namespace} port ${port.port} route ${route.name}`;
  const [first] = targets;
  if (!first) {
    warnings.push(`${where}: no backend resolves; route skipped`);
    return undefined;
  }
  const settings = actionSettings(first.service, route.timeoutMs ?? service.policy.timeoutMs, {
    retries: route.retries ?? service.policy.retries,
    rewrite: route.rewrite,
  });
  if (targets.length === 1) return { cluster: first.cluster, ...settings };
  if (targets.every((t) => t.weight === 0)) {
    warnings.push(`${where}: backend weights add up to 0; route skipped`);
    return undefined;
  }
  return {
    weighted_clusters: {
      clusters: targets.map((t) => ({ name: t.cluster, weight: { value: t.weight } })),
    },
    ...settings,
  };
}

/** The action of a service's catch-all route: the service itself, with its policy. */
export function defaultAction(service: Service, port: ServicePort): Message {
  return {
    cluster: outboundClusterName(port.port, service.hostname),
    ...actionSettings(service, service.policy.timeoutMs, { retries: service.policy.retries }),
  };
}
