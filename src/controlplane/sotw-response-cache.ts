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

export interface SotwCacheOptions {
  /** Bodies kept at most; the least recently used go first. */
  readonly maxEntries: number;
  /** Bytes of bodies (and their keys) kept at most. */
  readonly maxBytes: number;
  readonly metrics?: {
    readonly evictions: { inc(): void };
    readonly entries: { set(n: number): void };
    readonly bytes: { set(n: number): void };
  };
}

interface Entry {
  readonly body: SotwBody;
  readonly size: number;
}

/**
 * Bounded, least recently used first: a client that sends a fresh list of names with every
 * request makes one new body per request, and without a bound those stayed until the type
 * set was replaced (issue 12: the heap ran out). A type set is named by a number held
 * weakly, so a replaced one's bodies are simply never hit again and age out.
 */
export class SotwResponseCache {
  private readonly ids = new WeakMap<TypeSet, number>();
  private nextId = 0;
  /** key -> entry, in order of last use (oldest first). */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly controlPlaneId: string,
    private readonly options: SotwCacheOptions = { maxEntries: 1024, maxBytes: 64 * 1024 * 1024 },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  body(
    set: TypeSet | undefined,
    typeUrl: string,
    version: string,
    subKey: string,
    scope: Iterable<string>,
  ): SotwBody {
    const typeSet = set ?? EMPTY;
    let id = this.ids.get(typeSet);
    if (id === undefined) {
      id = ++this.nextId;
      this.ids.set(typeSet, id);
    }
    const key = `${id}\u0000${version}\u0000${subKey}`;
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used goes last.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.body;
    }
    const resources: EncodedResource[] = [];
    const versions = new Map<string, string>();
    for (const name of scope) {
      const r = typeSet.byName.get(name);
      if (!r) continue;
      resources.push(r);
      versions.set(name, r.version);
    }
    const body = {
      bytes: encodeSotwBody(version, typeUrl, resources, this.controlPlaneId),
      versions,
    };
    // A key is UTF-16 in memory; a name list can outweigh the body.
    const size = body.bytes.byteLength + key.length * 2;
    if (size <= this.options.maxBytes) {
      this.entries.set(key, { body, size });
      this.bytes += size;
      this.evict();
    }
    return body;
  }

  private evict(): void {
    const { maxEntries, maxBytes, metrics } = this.options;
    while (this.entries.size > maxEntries || this.bytes > maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      const entry = this.entries.get(oldest.value);
      this.entries.delete(oldest.value);
      this.bytes -= entry?.size ?? 0;
      metrics?.evictions.inc();
    }
    metrics?.entries.set(this.entries.size);
    metrics?.bytes.set(this.bytes);
  }
}
