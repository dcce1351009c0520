/**
 * The resources the client has accepted, per type, each with its compiled form. An
 * unchanged resource (same bytes) keeps its entry object, so consumers can tell what
 * changed between two configurations by identity, and is never compiled again.
 * `generation` moves on every change of content.
 */
import type { DecodedResource, KnownResource } from './decode-resources.js';
import { deepFreeze } from './deep-freeze.js';
import type { ResourceEntry } from './proxy-config.js';
import type { Resource } from './validate.js';

/**
 * An entry as consumers see it. Frozen, but only the value is frozen through: the compiled
 * form may hold live state (rate-limit buckets). Serialized (config dumps), it is the
 * resource: the compiled form is the consumer's business.
 */
class AcceptedResource implements ResourceEntry {
  constructor(
    readonly name: string,
    readonly version: string,
    readonly value: Resource,
    readonly compiled: unknown,
  ) {
    Object.freeze(this);
  }

  toJSON(): { name: string; version: string; value: Resource } {
    return { name: this.name, version: this.version, value: this.value };
  }
}

interface Stored {
  readonly entry: ResourceEntry;
  /** The serialized resource; undefined for a stand-in of one that does not exist. */
  readonly bytes: Uint8Array | undefined;
  /** The latest version the server gave it (delta `initial_resource_versions`). */
  readonly serverVersion: string;
}

/** A type's entries as they were, to put back (see ResourceStore.save). */
export interface SavedType {
  readonly typeUrl: string;
  readonly entries: ReadonlyMap<string, Stored>;
  readonly received: boolean;
}

export class ResourceStore {
  private readonly byType = new Map<string, Map<string, Stored>>();
  /** Types of which at least one response was accepted. */
  private readonly received = new Set<string>();
  generation = 0;

  private of(typeUrl: string): Map<string, Stored> {
    let map = this.byType.get(typeUrl);
    if (!map) {
      map = new Map();
      this.byType.set(typeUrl, map);
    }
    return map;
  }

  hasReceived(typeUrl: string): boolean {
    return this.received.has(typeUrl);
  }

  markReceived(typeUrl: string): void {
    if (this.received.has(typeUrl)) return;
    this.received.add(typeUrl);
    this.generation++;
  }

  /** What the store has of a resource: its bytes (none for a stand-in) and compiled form. */
  known(typeUrl: string, name: string): KnownResource | undefined {
    const s = this.of(typeUrl).get(name);
    return s && { bytes: s.bytes, value: s.entry.value, compiled: s.entry.compiled };
  }

  has(typeUrl: string, name: string): boolean {
    return this.of(typeUrl).has(name);
  }

  names(typeUrl: string): string[] {
    return [...this.of(typeUrl).keys()];
  }

  values(typeUrl: string): Iterable<Resource> {
    return [...this.of(typeUrl).values()].map((s) => s.entry.value);
  }

  /** A copy of a type's entries, sorted by name (for a configuration). */
  snapshot(typeUrl: string): ReadonlyMap<string, ResourceEntry> {
    const sorted = [...this.of(typeUrl)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return new Map(sorted.map(([name, s]) => [name, s.entry]));
  }

  /** The server's versions of what the client really has (stand-ins excluded). */
  versions(typeUrl: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, s] of this.of(typeUrl))
      if (s.bytes && s.serverVersion) out[name] = s.serverVersion;
    return out;
  }

  /** A type's entries now (a copy of the map; the entries are immutable). */
  save(typeUrl: string): SavedType {
    return {
      typeUrl,
      entries: new Map(this.of(typeUrl)),
      received: this.received.has(typeUrl),
    };
  }

  /** Puts a type back as it was saved: a response its consumer refused is undone whole. */
  restore(saved: SavedType): void {
    this.byType.set(saved.typeUrl, new Map(saved.entries));
    if (!saved.received) this.received.delete(saved.typeUrl);
    this.generation++;
  }

  /** Stores a resource; returns its new entry, or undefined when its bytes did not change. */
  put(typeUrl: string, r: DecodedResource): ResourceEntry | undefined {
    const map = this.of(typeUrl);
    const old = map.get(r.name);
    if (old?.bytes && Buffer.compare(old.bytes, r.bytes) === 0) {
      map.set(r.name, { ...old, serverVersion: r.version });
      return undefined;
    }
    const entry = new AcceptedResource(r.name, r.version, deepFreeze(r.value), r.compiled);
    map.set(r.name, { entry, bytes: r.bytes, serverVersion: r.version });
    this.generation++;
    return entry;
  }

  /** Records that a named resource does not exist: it stands for `empty`. */
  putMissing(
    typeUrl: string,
    name: string,
    empty: Resource,
    compile: (empty: Resource) => unknown,
  ): void {
    const map = this.of(typeUrl);
    const old = map.get(name);
    if (old && !old.bytes) return;
    const value = deepFreeze(empty);
    const entry = new AcceptedResource(name, '', value, compile(value));
    map.set(name, { entry, bytes: undefined, serverVersion: '' });
    this.generation++;
  }

  remove(typeUrl: string, name: string): void {
    if (this.of(typeUrl).delete(name)) this.generation++;
  }

  /** Drops what is no longer wanted. */
  retain(typeUrl: string, keep: (name: string) => boolean): void {
    for (const name of this.names(typeUrl)) if (!keep(name)) this.remove(typeUrl, name);
  }
}
