/**
 * Route actions: where a route sends traffic (one cluster or a weighted split), with the
 * timeout, retries, hashing, rewrites and mirroring that apply on the way.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routeaction
 */
import type { Backend, RetryPolicy, Route, Service, ServicePort } from '../../mesh/index.js';
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

/** The cluster a backend or mirror sends to, or what is missing (a service, port or subset). */
function resolveTarget(
  index: ServiceIndex,
  port: ServicePort,
  t: Pick<Backend, 'service' | 'namespace' | 'port' | 'subset'>,
): { readonly cluster: string; readonly service: Service } | string {
  const target = index.find(t.service, t.namespace);
  const targetPort = t.port ?? port.port;
  if (!target) return `service ${t.service}.${t.namespace} does not exist`;
  if (!target.ports.some((p) => p.port === targetPort)) {
    return `service ${t.service}.${t.namespace} has no port ${targetPort}`;
  }
  if (t.subset !== undefined && !target.subsets.some((s) => s.name === t.subset)) {
    return `service ${t.service}.${t.namespace} has no subset ${t.subset}`;
  }
  return { cluster: outboundClusterName(targetPort, target.hostname, t.subset), service: target };
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
    const resolved = resolveTarget(index, port, b);
    if (typeof resolved === 'string') {
      warnings.push(`${where}: backend skipped: ${resolved}`);
      continue;
    }
    const { cluster, service: target } = resolved;
    const weight = Number.isFinite(b.weight) ? Math.max(0, Math.round(b.weight)) : 0;
    const seen = targets.get(cluster);
    if (seen) seen.weight += weight;
    else targets.set(cluster, { cluster, service: target, weight });
  }
  return [...targets.values()];
}

/**
 * The route's mirror as Envoy's request_mirror_policies: the mirror's cluster, and its
 * percentage as a runtime_fraction out of a million (as Istio writes mirrorPercentage).
 * Empty, with a warning, when the mirror names a missing service, port or subset.
 */
function mirrorPolicies(
  index: ServiceIndex,
  port: ServicePort,
  route: Route,
  where: string,
  warnings: string[],
): Message {
  const m = route.mirror;
  if (m === undefined) return {};
  const resolved = resolveTarget(index, port, m);
  if (typeof resolved === 'string') {
    warnings.push(`${where}: mirror skipped: ${resolved}`);
    return {};
  }
  const numerator = Math.round(Math.min(Math.max(m.percentage, 0), 100) * 10_000);
  return {
    request_mirror_policies: [
      {
        cluster: resolved.cluster,
        runtime_fraction: { default_value: { numerator, denominator: 'MILLION' } },
      },
    ],
  };
}

/** Settings of a route action that do not depend on its destination. */
interface ActionSettings {
  readonly retries?: Route['retries'];
  readonly rewrite?: Route['rewrite'];
}

/** A route action's timeout (0 disables it) and retry policy, as far as they are given. */
export function timeoutRetryFields(
  timeoutMs: number | undefined,
  retries: RetryPolicy | undefined,
): Message {
  const policy = retries && retryPolicy(retries);
  return {
    ...(timeoutMs !== undefined ? { timeout: durationFromMs(timeoutMs) } : {}),
    ...(policy ? { retry_policy: policy } : {}),
  };
}

function actionSettings(
  first: Service,
  timeoutMs: number | undefined,
  settings: ActionSettings,
): Message {
  const hash = hashPolicy(first.policy);
  const rewrite = settings.rewrite;
  return {
    ...(rewrite?.prefix !== undefined ? { prefix_rewrite: rewrite.prefix } : {}),
    ...(rewrite?.authority !== undefined ? { host_rewrite_literal: rewrite.authority } : {}),
    ...timeoutRetryFields(timeoutMs, settings.retries),
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
  const settings = {
    ...actionSettings(first.service, route.timeoutMs ?? service.policy.timeoutMs, {
      retries: route.retries ?? service.policy.retries,
      rewrite: route.rewrite,
    }),
    ...mirrorPolicies(index, port, route, where, warnings),
  };
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
