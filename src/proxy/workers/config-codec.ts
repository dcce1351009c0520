/**
 * A ProxyConfig across IPC: flattened to arrays of decoded resources for the message (what
 * the primary compiled stays there: compiled forms hold functions and sockets' contexts),
 * rebuilt in the worker into frozen Maps whose entries the worker compiles with the same
 * hook the primary ran before its ACK. An entry the worker already has (same name, version
 * and content) keeps its object and compiled form, as the xDS client keeps an unchanged
 * resource's, so what is built per entry (route tables, secure contexts) is reused.
 */
import { types } from '../../xds/index.js';
import type { CompileHook, ProxyConfig, ResourceEntry } from '../../xds-client/index.js';
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

/** Rebuilds configurations in a worker, reusing the entries of the previous one. */
export class ConfigDecoder {
  private previous = new Map<string, { json: string; entry: ResourceEntry }>();

  constructor(private readonly compile: CompileHook) {}

  decode(w: WireConfig): DecodeOutcome {
    const next = new Map<string, { json: string; entry: ResourceEntry }>();
    const maps = {} as Record<Kind, Map<string, ResourceEntry>>;
    const errors: string[] = [];
    for (const [kind, typeUrl] of KINDS) {
      const map = new Map<string, ResourceEntry>();
      for (const e of w[kind]) {
        const key = `${kind}\u0000${e.name}`;
        const json = JSON.stringify(e.value);
        const before = this.previous.get(key);
        let entry =
          before?.json === json && before.entry.version === e.version ? before.entry : undefined;
        if (!entry) {
          const value = deepFreeze(e.value);
          const r = this.compile(typeUrl, e.name, value, before?.entry.compiled);
          if (!r.ok) {
            errors.push(r.error);
            continue;
          }
          entry = Object.freeze({ name: e.name, version: e.version, value, compiled: r.compiled });
        }
        next.set(key, { json, entry });
        map.set(e.name, entry);
      }
      maps[kind] = map;
    }
    // What the primary ACKed compiles here with the same code; should it not, nothing of
    // this configuration is applied (the worker keeps its last one and says why).
    if (errors.length > 0) return { ok: false, error: errors.join('; ') };
    this.previous = next;
    return { ok: true, config: Object.freeze({ version: w.version, ...maps }) };
  }
}
