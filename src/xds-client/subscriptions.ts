/**
 * What to ask the server for, given what the client has: every listener and cluster
 * (wildcard), and the route configurations, assignments and secrets those need. Subscriptions
 * follow the resources: what nothing references any more is no longer asked for.
 */
import { types } from '../xds/index.js';
import { edsServiceName, routeConfigNames } from './dependencies.js';
import type { ResourceStore } from './resource-store.js';
import { RESOURCE_TYPES } from './resource-types.js';
import { secretNames } from './secret-names.js';
import type { Want } from './xds-stream.js';

/** Per type URL, in subscription order. */
export type Wants = ReadonlyMap<string, Want>;

export function wantsOf(store: ResourceStore): Wants {
  const routes = new Set<string>();
  for (const listener of store.values(types.LISTENER))
    for (const name of routeConfigNames(listener)) routes.add(name);
  const secrets = new Set<string>();
  for (const listener of store.values(types.LISTENER))
    for (const name of secretNames(listener)) secrets.add(name);
  const assignments = new Set<string>();
  for (const cluster of store.values(types.CLUSTER)) {
    const name = edsServiceName(cluster);
    if (name) assignments.add(name);
  }
  const named = new Map<string, Want>([
    [types.ROUTE, routes],
    [types.ENDPOINT, assignments],
    [types.SECRET, secrets],
  ]);
  return new Map(RESOURCE_TYPES.map((t) => [t.typeUrl, t.wildcard ? '*' : named.get(t.typeUrl)!]));
}
