/**
 * What translation produces: named xDS resources in the object form of the Envoy protos
 * (snake_case fields, enums by name, `Any` as `{ '@type', ...fields }`), grouped by type.
 */

/** A message in protobufjs object form. */
export type Message = Record<string, unknown>;

export interface NamedResource {
  readonly name: string;
  readonly value: object;
  /** Served only when a client asks for it by name (not to wildcard subscribers). */
  readonly onDemand?: boolean;
}

export interface Resources {
  readonly listeners: readonly NamedResource[];
  readonly routes: readonly NamedResource[];
  readonly clusters: readonly NamedResource[];
  readonly endpoints: readonly NamedResource[];
}

export interface Translation {
  readonly resources: Resources;
  /** Parts of the input that were skipped or adjusted, each said in one sentence. */
  readonly warnings: readonly string[];
}

/** What a gateway node is served besides the four kinds: SDS certificates for its listeners. */
export interface GatewayResources extends Resources {
  /** Secrets named `<namespace>/<name>`, as the listeners' SDS configs name them. */
  readonly secrets: readonly NamedResource[];
}

export const RESOURCE_KINDS: readonly (keyof Resources)[] = [
  'listeners',
  'routes',
  'clusters',
  'endpoints',
];

function byName(a: NamedResource, b: NamedResource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Sorts each kind by name, so that the same input always gives the same output. */
export function sortedResources(r: Resources): Resources {
  return {
    listeners: [...r.listeners].sort(byName),
    routes: [...r.routes].sort(byName),
    clusters: [...r.clusters].sort(byName),
    endpoints: [...r.endpoints].sort(byName),
  };
}

/**
 * Unites resource sets. A name present in several sets keeps the value of the last set
 * that has it, so a per-workload set merged after the shared one takes precedence.
 */
export function mergeResources(...sets: Resources[]): Resources {
  const merged = {} as Record<keyof Resources, NamedResource[]>;
  for (const kind of RESOURCE_KINDS) {
    const named = new Map<string, NamedResource>();
    for (const set of sets) for (const r of set[kind]) named.set(r.name, r);
    merged[kind] = [...named.values()].sort(byName);
  }
  return merged;
}
