/**
 * A service's authorization rules as Envoy RBAC filters, the way Istio emits an
 * AuthorizationPolicy: one filter with the DENY rules, then one with the ALLOW rules (only
 * when there are any: with none, everything is allowed). A request is refused by the first
 * filter whose verdict is deny, so DENY wins over ALLOW. HTTP ports get the HTTP filter in
 * the connection manager (before the router); tcp ports the network filter before the TCP
 * proxy, where methods and paths cannot be seen.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/rbac/v3/rbac.proto
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/rbac/v3/rbac.proto
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/rbac/v3/rbac.proto
 * https://istio.io/latest/docs/reference/config/security/authorization-policy/
 */
import type {
  AuthorizationAction,
  AuthorizationOperation,
  AuthorizationRule,
  AuthorizationSource,
  ExactOrPrefix,
  MeshSettings,
  Service,
} from '../../mesh/index.js';
import { messageName, typed, types } from '../../xds/index.js';
import type { Message } from './resources.js';

export const HTTP_RBAC = messageName(types.HTTP_RBAC);
export const NETWORK_RBAC = messageName(types.NETWORK_RBAC);

/**
 * The name of the policy a rule becomes: `<service>.<namespace>/<rule>`. A sidecar that
 * denies a request logs this name, so it leads straight back to the mesh file.
 */
function rbacPolicyName(service: Service, rule: AuthorizationRule): string {
  return `${service.name}.${service.namespace}/${rule.name}`;
}

export interface RbacContext {
  readonly mesh: MeshSettings;
  /**
   * The port a connection for service port `p` arrives on at the workload, which is what
   * Envoy's `destination_port` sees. A sidecar serves all of its service's ports on its one
   * inbound port.
   */
  readonly endpointPort: (servicePort: number) => number;
}

const anyOne = (items: Message[], set: 'or_rules' | 'or_ids'): Message =>
  items.length === 1 ? items[0] : { [set]: set === 'or_rules' ? { rules: items } : { ids: items } };

const allOf = (items: Message[], set: 'and_rules' | 'and_ids'): Message =>
  items.length === 1
    ? items[0]
    : { [set]: set === 'and_rules' ? { rules: items } : { ids: items } };

function stringMatcher(m: ExactOrPrefix): Message {
  return 'exact' in m ? { exact: m.exact } : { prefix: m.prefix };
}

function authenticated(m: ExactOrPrefix): Message {
  return { authenticated: { principal_name: stringMatcher(m) } };
}

/** One source: its principals (any) and its namespaces (any), both when both are given. */
function sourcePrincipal(source: AuthorizationSource, mesh: MeshSettings): Message {
  const parts: Message[] = [];
  if (source.principals.length > 0) {
    parts.push(anyOne(source.principals.map(authenticated), 'or_ids'));
  }
  if (source.namespaces.length > 0) {
    // A namespace is a prefix of the SPIFFE ID in the mesh's own trust domain.
    const ids = source.namespaces.map((ns) =>
      authenticated({ prefix: `spiffe://${mesh.trustDomain}/ns/${ns}/sa/` }),
    );
    parts.push(anyOne(ids, 'or_ids'));
  }
  return parts.length === 0 ? { any: true } : allOf(parts, 'and_ids');
}

/** One operation, with `http` false for a tcp port (methods and paths are then left out). */
function operationPermission(
  op: AuthorizationOperation,
  context: RbacContext,
  http: boolean,
): Message {
  const parts: Message[] = [];
  if (http && op.methods.length > 0) {
    const methods = op.methods.map((m) => ({
      header: { name: ':method', string_match: { exact: m } },
    }));
    parts.push(anyOne(methods, 'or_rules'));
  }
  if (http && op.paths.length > 0) {
    const paths = op.paths.map((p) => ({ url_path: { path: stringMatcher(p) } }));
    parts.push(anyOne(paths, 'or_rules'));
  }
  if (op.ports.length > 0) {
    const ports = [...new Set(op.ports.map(context.endpointPort))].sort((a, b) => a - b);
    parts.push(
      anyOne(
        ports.map((port) => ({ destination_port: port })),
        'or_rules',
      ),
    );
  }
  return parts.length === 0 ? { any: true } : allOf(parts, 'and_rules');
}

function hasHttpFields(op: AuthorizationOperation): boolean {
  return op.methods.length > 0 || op.paths.length > 0;
}

/**
 * The RBAC policy of one rule, or undefined when it can never match. On a tcp port, as
 * Istio does, an ALLOW operation that needs HTTP fields is dropped (it allows less), and a
 * DENY operation loses its HTTP fields (it denies more): either way, never more access.
 */
function rulePolicy(
  service: Service,
  rule: AuthorizationRule,
  context: RbacContext,
  http: boolean,
  warnings: string[],
): Message | undefined {
  let operations = rule.to;
  if (!http && operations.some(hasHttpFields)) {
    warnings.push(
      `service ${service.name}.${service.namespace}: rule ${rule.name} names methods or paths, which a tcp port cannot see; ${
        rule.action === 'ALLOW'
          ? 'those operations allow nothing there'
          : 'it denies on the other conditions alone'
      }`,
    );
    if (rule.action === 'ALLOW') {
      operations = operations.filter((op) => !hasHttpFields(op));
      if (operations.length === 0) return undefined;
    }
  }
  const permissions =
    operations.length === 0
      ? [{ any: true }]
      : operations.map((op) => operationPermission(op, context, http));
  const principals =
    rule.from.length === 0
      ? [{ any: true }]
      : rule.from.map((source) => sourcePrincipal(source, context.mesh));
  return { permissions, principals };
}

/** The `envoy.config.rbac.v3.RBAC` of one action, or undefined when it has no rules. */
function rbacRules(
  service: Service,
  action: AuthorizationAction,
  context: RbacContext,
  http: boolean,
  warnings: string[],
): Message | undefined {
  const rules = (service.authorization ?? []).filter((r) => r.action === action);
  if (rules.length === 0) return undefined;
  const policies: Record<string, Message> = {};
  for (const rule of rules) {
    const policy = rulePolicy(service, rule, context, http, warnings);
    if (policy) policies[rbacPolicyName(service, rule)] = policy;
  }
  // An ALLOW filter whose every rule was dropped keeps an empty map: it allows nothing.
  return { action, policies };
}

/** A service's RBAC filters, one per action that has rules, in order (DENY, then ALLOW). */
function rbacFilters(
  service: Service | undefined,
  context: RbacContext,
  http: boolean,
  warnings: string[],
  filter: (rules: Message) => Message,
): Message[] {
  if (!service) return [];
  const out: Message[] = [];
  for (const action of ['DENY', 'ALLOW'] as const) {
    const rules = rbacRules(service, action, context, http, warnings);
    if (rules) out.push(filter(rules));
  }
  return out;
}

/** The HTTP RBAC filters of a service, in order (DENY, then ALLOW); empty without rules. */
export function httpRbacFilters(
  service: Service | undefined,
  context: RbacContext,
  warnings: string[],
): Message[] {
  return rbacFilters(service, context, true, warnings, (rules) => ({
    name: 'envoy.filters.http.rbac',
    typed_config: typed(HTTP_RBAC, { rules }),
  }));
}

/** The network RBAC filters of a service, in order (DENY, then ALLOW); empty without rules. */
export function networkRbacFilters(
  service: Service | undefined,
  context: RbacContext,
  warnings: string[],
): Message[] {
  return rbacFilters(service, context, false, warnings, (rules) => ({
    name: 'envoy.filters.network.rbac',
    typed_config: typed(NETWORK_RBAC, { rules, stat_prefix: 'tcp.' }),
  }));
}
