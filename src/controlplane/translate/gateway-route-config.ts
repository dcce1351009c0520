/**
 * A gateway port's RouteConfiguration `gateway~<port>`: one virtual host per hostname the
 * attached HTTPRoutes and GRPCRoutes serve there (listener and route hostnames intersected),
 * its routes every match of those routes in the Gateway API's precedence order. A host name
 * no route serves finds no virtual host (404, as the spec asks).
 * https://gateway-api.sigs.k8s.io/reference/spec/#httproute
 */
import {
  type BackendRef,
  effectivePrefix,
  type GatewayApiState,
  type GatewayState,
  type HttpRoute,
  type HttpRouteMatch,
  type HttpRouteRule,
  isHttpRoute,
  namespacedName,
  type RouteState,
  rankMatches,
  type ValueMatch,
} from '../../gatewayapi/index.js';
import {
  mirrorPolicy,
  NO_BACKEND,
  type RuleForward,
  ruleFields,
  withInvalidShare,
} from './gateway-filters.js';
import { type RulePolicy, rulePolicy } from './gateway-rule-policy.js';
import { gatewayListenerName, outboundClusterName } from './names.js';
import type { Message } from './resources.js';
import { timeoutRetryFields } from './route-action.js';
import type { ServiceIndex } from './service-index.js';
import { sessionPerFilterConfig } from './stateful-session.js';

function valueMatcher(m: ValueMatch): Message {
  return m.type === 'Exact' ? { exact: m.value } : { safe_regex: { regex: m.value } };
}

/** A Gateway API match as an Envoy RouteMatch. PathPrefix matches whole path segments. */
export function gatewayRouteMatch(m: HttpRouteMatch): Message {
  const path =
    m.path.type === 'Exact'
      ? { path: m.path.value }
      : m.path.type === 'RegularExpression'
        ? { safe_regex: { regex: m.path.value } }
        : effectivePrefix(m.path.value) === '/'
          ? { prefix: '/' }
          : { path_separated_prefix: effectivePrefix(m.path.value) };
  const headers = m.headers.map((h) => ({
    name: h.name.toLowerCase(),
    string_match: valueMatcher(h),
  }));
  if (m.method !== undefined) headers.push({ name: ':method', string_match: { exact: m.method } });
  const query = m.queryParams.map((q) => ({ name: q.name, string_match: valueMatcher(q) }));
  return {
    ...path,
    ...(headers.length > 0 ? { headers } : {}),
    ...(query.length > 0 ? { query_parameters: query } : {}),
  };
}

/** The cluster of a resolved backendRef: the service's outbound cluster on that port. */
export function backendCluster(index: ServiceIndex, b: BackendRef): string | undefined {
  const service = index.find(b.name, b.namespace);
  if (!service || b.port === undefined) return undefined;
  return outboundClusterName(b.port, service.hostname);
}

/**
 * What one rule forwards to: its backends by weight (with mirrors, and the rule's timeouts and
 * retries), the invalid ones' weight answered 500; a direct 500 when no valid backend has
 * weight.
 */
function ruleForward(
  rule: HttpRouteRule,
  state: RouteState,
  index: ServiceIndex,
  policy: RulePolicy,
): RuleForward {
  const weights = new Map<string, number>();
  let invalidWeight = 0;
  for (const b of rule.backendRefs) {
    const cluster = state.invalidBackends.has(b) ? undefined : backendCluster(index, b);
    if (b.weight === 0) continue;
    if (cluster) weights.set(cluster, (weights.get(cluster) ?? 0) + b.weight);
    else invalidWeight += b.weight;
  }
  if (weights.size === 0) return NO_BACKEND;
  const mirrors = rule.filters.flatMap((f) => {
    if (f.type !== 'RequestMirror' || state.invalidBackends.has(f.backendRef)) return [];
    const cluster = backendCluster(index, f.backendRef);
    return cluster ? [mirrorPolicy(cluster, f.percent)] : [];
  });
  const targets = [...weights];
  const action =
    targets.length === 1
      ? { cluster: targets[0][0] }
      : {
          weighted_clusters: {
            clusters: targets.map(([name, weight]) => ({ name, weight: { value: weight } })),
          },
        };
  const validWeight = targets.reduce((sum, [, weight]) => sum + weight, 0);
  return {
    route: {
      ...withInvalidShare(action, validWeight, invalidWeight),
      ...(mirrors.length > 0 ? { request_mirror_policies: mirrors } : {}),
      ...timeoutRetryFields(policy.timeoutMs, policy.retries),
    },
  };
}

/** `h` and `h:<port>`: Envoy compares domains with the Host header, port included. */
function domainsOf(hostname: string, port: number): string[] {
  return hostname === '*' ? ['*'] : [hostname, `${hostname}:${port}`];
}

/** The attached HTTP routes of a gateway on one port, by the hostname they serve. */
function routesByHostname(
  gateway: GatewayState,
  port: number,
  state: GatewayApiState,
): Map<string, RouteState[]> {
  const byHost = new Map<string, RouteState[]>();
  for (const r of state.routes) {
    if (!isHttpRoute(r.route)) continue;
    for (const parent of r.parents) {
      for (const a of parent.attachments) {
        if (a.listener.gateway !== gateway.gateway || a.listener.listener.port !== port) continue;
        if (!a.listener.usable) continue;
        for (const h of a.hostnames) {
          const list = byHost.get(h) ?? [];
          if (!list.includes(r)) list.push(r);
          byHost.set(h, list);
        }
      }
    }
  }
  return byHost;
}

/** Whether a rule of an HTTP route on this gateway port keeps sessions (its HCM needs the filter). */
export function portKeepsSessions(
  gateway: GatewayState,
  port: number,
  state: GatewayApiState,
): boolean {
  for (const routes of routesByHostname(gateway, port, state).values()) {
    for (const r of routes) {
      if ((r.route as HttpRoute).rules.some((rule) => rule.sessionPersistence !== undefined)) {
        return true;
      }
    }
  }
  return false;
}

export function gatewayRouteConfig(
  gateway: GatewayState,
  port: number,
  state: GatewayApiState,
  index: ServiceIndex,
): Message {
  const name = gatewayListenerName(port);
  const virtualHosts: Message[] = [];
  const byHost = routesByHostname(gateway, port, state);
  for (const hostname of [...byHost.keys()].sort()) {
    const routeStates = byHost.get(hostname)!;
    const stateOf = new Map<HttpRoute, RouteState>(
      routeStates.map((s) => [s.route as HttpRoute, s]),
    );
    const routes = rankMatches([...stateOf.keys()]).map((m) => {
      const rule = m.route.rules[m.ruleIndex];
      const state = stateOf.get(m.route)!;
      // Timeouts and retries on the RouteAction; the session as the route's stateful
      // session config (gateway-rule-policy.ts, stateful-session.ts).
      const policy = rulePolicy(rule, m.match);
      const forward = () => ruleForward(rule, state, index, policy);
      const fields = ruleFields(rule.filters, m.match, port, forward);
      return {
        name: `${namespacedName(m.route.metadata)}/rule/${m.ruleIndex}/match/${m.matchIndex}`,
        match: gatewayRouteMatch(m.match),
        ...fields,
        ...(policy.session && 'route' in fields
          ? { typed_per_filter_config: sessionPerFilterConfig(policy.session) }
          : {}),
      };
    });
    virtualHosts.push({ name: `${name}/${hostname}`, domains: domainsOf(hostname, port), routes });
  }
  return { name, virtual_hosts: virtualHosts };
}
