/**
 * Snapshots: immutable, internally consistent sets of encoded resources, one per
 * generation of the registry, shared by every client whose node needs the same set.
 * Each resource is encoded once; its delta xDS version is a hash of its bytes, so an
 * unchanged resource keeps its version across generations.
 */
import { createHash } from 'node:crypto';
import type { MeshConfig, Workload } from '../mesh/index.js';
import { type EncodedResource, encodeOnce, type GatewayNode, types } from '../xds/index.js';
import {
  checkConsistency,
  type GatewayResources,
  mergeResources,
  type NamedResource,
  type Resources,
  translateEgress,
  translateGateway,
  translateMesh,
  translateWorkload,
} from './translate/index.js';

export interface TypeSet {
  readonly byName: ReadonlyMap<string, EncodedResource>;
  /** What a wildcard subscriber gets: every resource that is not on-demand only. */
  readonly wildcard: ReadonlySet<string>;
}

export interface Snapshot {
  /** The generation it was built from. */
  readonly version: string;
  /** performance.now() when its generation was published: the start of convergence. */
  readonly publishedAt: number;
  readonly types: ReadonlyMap<string, TypeSet>;
}

const TYPE_OF: ReadonlyArray<[keyof Resources, string]> = [
  ['listeners', types.LISTENER],
  ['routes', types.ROUTE],
  ['clusters', types.CLUSTER],
  ['endpoints', types.ENDPOINT],
];

function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
}

/** Encodes resources, reusing the previous encoding of any resource whose value is unchanged. */
export class ResourceEncoder {
  private previous = new Map<string, { json: string; encoded: EncodedResource }>();
  private current = new Map<string, { json: string; encoded: EncodedResource }>();

  encode(typeUrl: string, r: NamedResource): EncodedResource {
    const key = `${typeUrl}\u0000${r.name}`;
    const json = JSON.stringify(r.value);
    const seen = this.current.get(key) ?? this.previous.get(key);
    if (seen && seen.json === json) {
      this.current.set(key, seen);
      return seen.encoded;
    }
    const encoded = encodeOnce(typeUrl, r.name, r.value, hashBytes);
    this.current.set(key, { json, encoded });
    return encoded;
  }

  /** Ends a generation: what was not used in it is forgotten. */
  endGeneration(): void {
    this.previous = this.current;
    this.current = new Map();
  }
}

/**
 * Builds a snapshot. A type whose resources are all unchanged since `previous` keeps the
 * previous TypeSet object, so streams can tell "nothing changed for this type" by identity.
 */
export function buildSnapshot(
  resources: Resources | GatewayResources,
  encoder: ResourceEncoder,
  version: string,
  publishedAt: number,
  previous?: Snapshot,
): Snapshot {
  const typeSets = new Map<string, TypeSet>();
  // Only a gateway's snapshot has an SDS type; other clients' stay as they were.
  const kinds: [readonly NamedResource[], string][] = TYPE_OF.map(([field, typeUrl]) => [
    resources[field],
    typeUrl,
  ]);
  if ('secrets' in resources) kinds.push([resources.secrets, types.SECRET]);
  for (const [list, typeUrl] of kinds) {
    const byName = new Map<string, EncodedResource>();
    const wildcard = new Set<string>();
    for (const r of list) {
      byName.set(r.name, encoder.encode(typeUrl, r));
      if (!r.onDemand) wildcard.add(r.name);
    }
    const before = previous?.types.get(typeUrl);
    typeSets.set(
      typeUrl,
      before && sameTypeSet(before, byName, wildcard) ? before : { byName, wildcard },
    );
  }
  return { version, publishedAt, types: typeSets };
}

function sameTypeSet(
  a: TypeSet,
  byName: ReadonlyMap<string, EncodedResource>,
  wildcard: ReadonlySet<string>,
): boolean {
  if (a.byName.size !== byName.size || a.wildcard.size !== wildcard.size) return false;
  for (const [name, r] of byName) if (a.byName.get(name) !== r) return false;
  for (const name of wildcard) if (!a.wildcard.has(name)) return false;
  return true;
}

/** The inputs of translateWorkload that make two workloads' snapshots differ. */
export function workloadGroupKey(w: Workload): string {
  return [
    w.service,
    w.namespace,
    w.inboundPort,
    w.outboundPort,
    w.appPort ?? '',
    w.servicePort ?? '',
    w.protocol ?? '',
  ].join('|');
}

export type BuildResult =
  | { readonly ok: true; readonly resources: Resources; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Translates and checks the resources every client shares. */
export function buildShared(config: MeshConfig, namespaces: Iterable<string>): BuildResult {
  const { resources, warnings } = translateMesh(config, namespaces);
  const errors = checkConsistency(resources);
  return errors.length ? { ok: false, errors } : { ok: true, resources, warnings };
}

/** Translates and checks one sidecar's resources on top of the shared ones. */
export function buildForWorkload(
  config: MeshConfig,
  shared: Resources,
  workload: Workload,
): BuildResult {
  const { resources, warnings } = translateWorkload(config, workload);
  const merged = mergeResources(shared, resources);
  const errors = checkConsistency(merged);
  return errors.length ? { ok: false, errors } : { ok: true, resources: merged, warnings };
}

/** The snapshot group of a gateway node: every node serving one Gateway gets the same set. */
export function gatewayGroupKey(g: GatewayNode): string {
  return `gateway|${g.mode}|${g.gateway}`;
}

/** Translates and checks one gateway's resources on top of the shared ones. */
export function buildForGateway(
  config: MeshConfig,
  shared: Resources,
  gateway: GatewayNode,
  withSecrets = true,
): BuildResult | (BuildResult & { readonly resources: GatewayResources }) {
  const { resources, warnings } =
    gateway.mode === 'egress'
      ? translateEgress(config, gateway.gateway)
      : translateGateway(config, gateway.gateway);
  const merged: GatewayResources = {
    ...mergeResources(shared, resources),
    secrets: withSecrets ? resources.secrets : [],
  };
  const errors = checkConsistency(merged);
  return errors.length ? { ok: false, errors } : { ok: true, resources: merged, warnings };
}
