/**
 * What a gateway node is served on top of the shared resources (whose clusters and CLAs are
 * the mesh's service clusters, mTLS to sidecars included): its Gateway's listeners, their
 * route configurations and the certificates they serve. A node naming a Gateway that does
 * not exist, or is not Ferry's, gets no listeners (and a warning), like an unknown sidecar.
 */
import {
  type GatewayApiState,
  type GatewayState,
  isHttpRoute,
  namespacedName,
} from '../../gatewayapi/index.js';
import type { MeshConfig } from '../../mesh/index.js';
import { gatewayListener, gatewayPorts } from './gateway-listeners.js';
import { gatewayRouteConfig } from './gateway-route-config.js';
import { unappliedSessionFields } from './gateway-rule-policy.js';
import { gatewaySecrets } from './gateway-secrets.js';
import { gatewayApiState } from './gateway-state.js';
import {
  type GatewayResources,
  type Message,
  type NamedResource,
  sortedResources,
} from './resources.js';
import { indexServices, type ServiceIndex } from './service-index.js';

function named(value: Message): NamedResource {
  return { name: String(value.name), value };
}

export interface GatewayTranslation {
  readonly resources: GatewayResources;
  readonly warnings: readonly string[];
}

function findGateway(state: GatewayApiState, key: string): GatewayState | undefined {
  return state.gateways.find((g) => namespacedName(g.gateway.metadata) === key);
}

/** The gateway `<namespace>/<name>`'s own resources. */
export function translateGateway(
  config: MeshConfig,
  gatewayKey: string,
  state?: GatewayApiState,
  index: ServiceIndex = indexServices(config),
): GatewayTranslation {
  const warnings: string[] = [];
  const resolved = state ?? gatewayApiState(config, index);
  const gateway = findGateway(resolved, gatewayKey);
  if (!gateway) {
    warnings.push(`gateway ${gatewayKey}: no such Gateway of Ferry's; it gets no listeners`);
    return {
      resources: { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] },
      warnings,
    };
  }
  const listeners: NamedResource[] = [];
  const routes: NamedResource[] = [];
  for (const port of gatewayPorts(gateway)) {
    const listener = gatewayListener(gateway, port, resolved, index, warnings);
    listeners.push(named(listener));
    const hasHcm = gateway.listeners.some(
      (l) =>
        l.usable &&
        l.listener.port === port &&
        (l.listener.protocol === 'HTTP' || l.listener.protocol === 'HTTPS'),
    );
    if (hasHcm) routes.push(named(gatewayRouteConfig(gateway, port, resolved, index)));
  }
  const sorted = sortedResources({ listeners, routes, clusters: [], endpoints: [] });
  return {
    resources: { ...sorted, secrets: gatewaySecrets(gateway, config.tlsSecrets ?? []) },
    warnings: [...new Set(warnings)],
  };
}

/** Every condition that is not as it should be, as one sentence each (for the log). */
export function gatewayApiWarnings(state: GatewayApiState): string[] {
  const out: string[] = [];
  const bad = (
    what: string,
    c: { type: string; status: string; reason: string; message: string },
  ) => {
    const fine = c.type === 'Conflicted' ? c.status === 'False' : c.status === 'True';
    if (!fine)
      out.push(`${what}: ${c.type} ${c.status} (${c.reason})${c.message ? `: ${c.message}` : ''}`);
  };
  for (const g of state.gateways) {
    const name = `Gateway ${namespacedName(g.gateway.metadata)}`;
    for (const c of g.conditions) bad(name, c);
    for (const l of g.listeners)
      for (const c of l.conditions) bad(`${name} listener ${l.listener.name}`, c);
  }
  for (const r of state.routes) {
    const name = `${r.route.kind} ${namespacedName(r.route.metadata)}`;
    for (const p of r.parents) {
      for (const c of p.conditions)
        bad(`${name} parent ${p.parentRef.kind} ${p.parentRef.namespace}/${p.parentRef.name}`, c);
    }
    if (!isHttpRoute(r.route)) continue;
    r.route.rules.forEach((rule, i) => {
      for (const field of unappliedSessionFields(rule)) {
        out.push(`${name} rule ${i}: sessionPersistence ${field} is not applied`);
      }
    });
  }
  return out;
}
