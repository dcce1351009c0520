/**
 * State-of-the-world responses shared between clients. Clients that subscribe to the same
 * names of the same type set get the same bytes but for the nonce, so the body is built
 * once per (type set, version, subscription) and reused; entries go when the type set does.
 */
import { type EncodedResource, encodeSotwBody } from '../xds/index.js';
import type { TypeSet } from './snapshot.js';

export interface SotwBody {
  readonly bytes: Uint8Array;
  /** name -> version of the resources it carries. */
  readonly versions: ReadonlyMap<string, string>;
}

/** What a subscription covers, as a cache key: wildcard flag plus sorted names. */
export function subscriptionKey(wildcard: boolean, names: Iterable<string>): string {
  return `${wildcard ? '*' : ''}\n${[...names].sort().join('\n')}`;
}

const EMPTY: TypeSet = { byName: new Map(), wildcard: new Set() };

export class SotwResponseCache {
  private readonly bodies = new WeakMap<TypeSet, Map<string, SotwBody>>();

  constructor(private readonly controlPlaneId: string) {}

  body(
    set: TypeSet | undefined,
    typeUrl: string,
    version: string,
    subKey: string,
    scope: Iterable<string>,
  ): SotwBody {
    const typeSet = set ?? EMPTY;
    let perSet = this.bodies.get(typeSet);
    if (!perSet) {
      perSet = new Map();
      this.bodies.set(typeSet, perSet);
    }
    const key = `${version}\u0000${subKey}`;
    let body = perSet.get(key);
    if (!body) {
      const resources: EncodedResource[] = [];
      const versions = new Map<string, string>();
      for (const name of scope) {
        const r = typeSet.byName.get(name);
        if (!r) continue;
        resources.push(r);
        versions.set(name, r.version);
      }
      body = { bytes: encodeSotwBody(version, typeUrl, resources, this.controlPlaneId), versions };
      perSet.set(key, body);
    }
    return body;
  }
}
