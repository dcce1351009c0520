/**
 * The snapshot cache: turns registry changes into published snapshot generations.
 * Changes are debounced (a quiet period, like istiod's, capped so a stream of changes
 * still publishes), translated, checked for consistency and only then published. An
 * inconsistent generation is never published: the last good one stays in force.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/index.js';
import type { MeshConfig, Workload } from '../mesh/index.js';
import type { GatewayNode } from '../xds/index.js';
import { REAL_TIMERS, type Registry, type Timers } from './registry.js';
import {
  buildForGateway,
  buildForWorkload,
  buildShared,
  buildSnapshot,
  gatewayGroupKey,
  ResourceEncoder,
  type Snapshot,
  workloadGroupKey,
} from './snapshot.js';
import type { Resources } from './translate/index.js';

export interface SnapshotCacheOptions {
  /** Quiet period after a change before a push. Default 100 ms. */
  readonly debounceMs?: number;
  /** Longest a push waits while changes keep coming. Default 500 ms. */
  readonly maxDebounceMs?: number;
  readonly log: Logger;
  readonly timers?: Timers;
  /** Translation + consistency check of the shared set; replaceable in tests. */
  readonly buildShared?: typeof buildShared;
}

interface Generation {
  readonly version: string;
  readonly publishedAt: number;
  readonly config: MeshConfig;
  readonly shared: Resources;
  readonly sharedSnapshot: Snapshot;
  readonly nodes: Map<string, Snapshot>;
}

export class SnapshotCache {
  /** The default shared build: translation plus consistency check. */
  static readonly defaultBuild = buildShared;
  private generation: Generation | undefined;
  private counter = 0;
  private readonly encoder = new ResourceEncoder();
  private readonly publishWatchers = new Set<(version: string) => void>();
  private readonly debounceMs: number;
  private readonly maxDebounceMs: number;
  private readonly timers: Timers;
  private readonly log: Logger;
  private timer: unknown;
  private firstChangeAt = 0;
  private unwatch: (() => void) | undefined;
  /** The last build error (rejected generation), for debug endpoints. */
  lastError: { readonly at: string; readonly errors: readonly string[] } | undefined;
  /** Previous generation's per-node snapshots, kept as a fallback when a node's build fails. */
  private previousNodes = new Map<string, Snapshot>();
  rejected = 0;
  private readonly build: typeof buildShared;
  private lastWarnings = new Set<string>();

  constructor(
    private readonly registry: Registry,
    options: SnapshotCacheOptions,
  ) {
    this.debounceMs = options.debounceMs ?? 100;
    this.maxDebounceMs = options.maxDebounceMs ?? 500;
    this.timers = options.timers ?? REAL_TIMERS;
    this.log = options.log;
    this.build = options.buildShared ?? buildShared;
  }

  /** Builds the first generation now and follows the registry from then on. */
  start(): void {
    this.unwatch ??= this.registry.watch(() => this.schedule());
    this.rebuild();
    if (!this.generation) {
      throw new Error(
        `the initial configuration is inconsistent: ${this.lastError?.errors.join('; ')}`,
      );
    }
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Calls `fn` with the version of every newly published generation. */
  onPublish(fn: (version: string) => void): () => void {
    this.publishWatchers.add(fn);
    return () => this.publishWatchers.delete(fn);
  }

  get version(): string {
    return this.current().version;
  }

  /** The config the current generation was built from. */
  get config(): MeshConfig {
    return this.current().config;
  }

  private current(): Generation {
    if (!this.generation) throw new Error('snapshot cache not started');
    return this.generation;
  }

  /**
   * The snapshot for a client: the shared set, plus its own listeners if it is a sidecar, or
   * its Gateway's listeners, routes and certificates if it is a gateway (`withSecrets` false:
   * without the certificates, for a gateway that proved no identity).
   */
  snapshotFor(workload: Workload | undefined, gateway?: GatewayNode, withSecrets = true): Snapshot {
    const gen = this.current();
    if (!workload && !gateway) return gen.sharedSnapshot;
    const key = gateway
      ? `${gatewayGroupKey(gateway)}|${withSecrets}`
      : workloadGroupKey(workload as Workload);
    const cached = gen.nodes.get(key);
    if (cached) return cached;
    const result = gateway
      ? buildForGateway(gen.config, gen.shared, gateway, withSecrets)
      : buildForWorkload(gen.config, gen.shared, workload as Workload);
    let snapshot: Snapshot;
    if (result.ok) {
      snapshot = buildSnapshot(
        result.resources,
        this.encoder,
        gen.version,
        gen.publishedAt,
        this.previousNodes.get(key),
      );
    } else {
      this.log.error(
        { node: workload?.id ?? gateway?.gateway, errors: result.errors },
        'sidecar configuration is inconsistent; keeping its previous configuration',
      );
      snapshot = this.previousNodes.get(key) ?? gen.sharedSnapshot;
    }
    gen.nodes.set(key, snapshot);
    return snapshot;
  }

  /** Forces a rebuild now (skipping the debounce); used at start and by tests. */
  rebuild(): boolean {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.firstChangeAt = 0;
    const config = this.registry.view();
    const namespaces = new Set(this.registry.workloads().map((w) => w.namespace));
    const result = this.build(config, namespaces);
    if (!result.ok) {
      this.rejected++;
      this.lastError = { at: new Date().toISOString(), errors: result.errors };
      this.log.error({ errors: result.errors }, 'configuration rejected: not consistent');
      return false;
    }
    // Warnings repeat on every rebuild; say each only when it first appears.
    const warnings = new Set(result.warnings);
    for (const w of warnings) if (!this.lastWarnings.has(w)) this.log.warn(w);
    this.lastWarnings = warnings;
    const version = String(++this.counter);
    const publishedAt = performance.now();
    const sharedSnapshot = buildSnapshot(
      result.resources,
      this.encoder,
      version,
      publishedAt,
      this.generation?.sharedSnapshot,
    );
    if (this.generation) this.previousNodes = this.generation.nodes;
    this.generation = {
      version,
      publishedAt,
      config,
      shared: result.resources,
      sharedSnapshot,
      nodes: new Map(),
    };
    this.encoder.endGeneration();
    this.log.debug({ version }, 'snapshot published');
    for (const fn of this.publishWatchers) fn(version);
    return true;
  }

  private schedule(): void {
    const now = this.timers.now();
    if (this.timer === undefined) this.firstChangeAt = now;
    else this.timers.clearTimeout(this.timer);
    const waited = now - this.firstChangeAt;
    const delay = Math.max(0, Math.min(this.debounceMs, this.maxDebounceMs - waited));
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.rebuild();
    }, delay);
  }
}
