/**
 * A ProxyConfig across IPC: flattened to arrays of decoded resources for the message (what
 * the primary compiled stays there: compiled forms hold functions and sockets' contexts),
 * rebuilt in the worker into frozen Maps whose entries the worker compiles with the same
 * hook the primary ran before its ACK. An entry the worker already has (same name, version
 * and content) keeps its object and compiled form, as the xDS client keeps an unchanged
 * resource's, so what is built per entry (route tables, secure contexts) is reused. The
 * resources of a response that completed no configuration yet are compiled when it arrives
 * (check), as a single process compiles them, and kept for the configuration to come.
 */
import { types } from '../../xds/index.js';
import {
  type CompileHook,
  compileAccepted,
  type ProxyConfig,
  type ResourceEntry,
} from '../../xds-client/index.js';
import type { WireConfig, WireEntry } from './worker-messages.js';

const KINDS = [
  ['listeners', types.LISTENER],
  ['routes', types.ROUTE],
  ['clusters', types.CLUSTER],
  ['endpoints', types.ENDPOINT],
  ['secrets', types.SECRET],
] as const;

type Kind = (typeof KINDS)[number][0];

function wire(entries: ReadonlyMap<string, ResourceEntry>): WireEntry[] {
  return [...entries.values()].map((e) => ({ name: e.name, version: e.version, value: e.value }));
}

export function toWire(config: ProxyConfig): WireConfig {
  return {
    version: config.version,
    listeners: wire(config.listeners),
    routes: wire(config.routes),
    clusters: wire(config.clusters),
    endpoints: wire(config.endpoints),
    secrets: wire(config.secrets),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export type DecodeOutcome =
  | { readonly ok: true; readonly config: ProxyConfig }
  | { readonly ok: false; readonly error: string };

interface Known {
  readonly json: string;
  readonly entry: ResourceEntry;
}

const KIND_OF = new Map<string, Kind>(KINDS.map(([kind, typeUrl]) => [typeUrl, kind]));

/** Rebuilds configurations in a worker, reusing the entries of the previous one. */
export class ConfigDecoder {
  private previous = new Map<string, Known>();
  /** Compiled by check() since the last configuration: what the next one will hold. */
  private staged = new Map<string, Known>();

  constructor(private readonly compile: CompileHook) {}

  /**
   * The entry of `e` (`key`: its kind and name): the one kept when its content and version
   * are the same, else newly compiled (a failure: why, as the xDS client's NACK says it).
   */
  private entryOf(
    key: string,
    typeUrl: string,
    e: WireEntry,
  ): { known: Known; error?: undefined } | { known?: undefined; error: string } {
    const json = JSON.stringify(e.value);
    const before = this.staged.get(key) ?? this.previous.get(key);
    if (before?.json === json && before.entry.version === e.version) return { known: before };
    const value = deepFreeze(e.value);
    const r = compileAccepted(this.compile, typeUrl, e.name, value, before?.entry.compiled);
    if (!r.ok) return { error: r.error };
    const entry = Object.freeze({ name: e.name, version: e.version, value, compiled: r.compiled });
    return { known: { json, entry } };
  }

  /**
   * Compiles the resources a response changed before any configuration holds them, as a
   * single process compiles a response on arrival; undefined when all compile (they are kept
   * for the configuration to come), else why not.
   */
  check(typeUrl: string, entries: readonly WireEntry[]): string | undefined {
    const kind = KIND_OF.get(typeUrl);
    if (!kind) return `type ${typeUrl} is not one a configuration holds`;
    const errors: string[] = [];
    const compiled: Array<[string, Known]> = [];
    for (const e of entries) {
      const key = `${kind}\u0000${e.name}`;
      const r = this.entryOf(key, typeUrl, e);
      if (r.known) compiled.push([key, r.known]);
      else errors.push(r.error);
    }
    // A refused response is undone in the primary: none of it is kept.
    if (errors.length > 0) return errors.join('\n');
    for (const [key, known] of compiled) this.staged.set(key, known);
    return undefined;
  }

  decode(w: WireConfig): DecodeOutcome {
    const next = new Map<string, Known>();
    const maps = {} as Record<Kind, Map<string, ResourceEntry>>;
    const errors: string[] = [];
    for (const [kind, typeUrl] of KINDS) {
      const map = new Map<string, ResourceEntry>();
      for (const e of w[kind]) {
        const key = `${kind}\u0000${e.name}`;
        const r = this.entryOf(key, typeUrl, e);
        if (!r.known) {
          errors.push(r.error);
          continue;
        }
        next.set(key, r.known);
        map.set(e.name, r.known.entry);
      }
      maps[kind] = map;
    }
    // What the primary ACKed compiles here with the same code; should it not, nothing of
    // this configuration is applied (the worker keeps its last one and says why).
    if (errors.length > 0) return { ok: false, error: errors.join('\n') };
    this.previous = next;
    // Whatever was staged and is not in this configuration was removed or replaced since.
    this.staged = new Map();
    return { ok: true, config: Object.freeze({ version: w.version, ...maps }) };
  }
}
