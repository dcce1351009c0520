/**
 * The sidecar's xDS client. One way through: a response is decoded, validated and
 * compiled by the consumer's hook (decode-resources), accepted into the store with the
 * compiled forms or NACKed with the reason (a compile failure too, so the control plane
 * never sees a configuration acknowledged that the sidecar is not running), the subscriptions follow what
 * the accepted listeners and clusters need, and when nothing needed is missing the store
 * becomes a new immutable ProxyConfig for the watchers. The stream (SotW or delta) comes
 * and goes with the connection; the store and the last good configuration stay.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
 */
import { type ChannelCredentials, credentials, status } from '@grpc/grpc-js';
import type { Logger } from '../log/index.js';
import { type AdsClient, createAdsClient, type Node } from '../xds/index.js';
import { Backoff } from './backoff.js';
import { diagnoseConnection } from './connection-diagnosis.js';
import { type CompileHook, decodeResources, runHook } from './decode-resources.js';
import { openDeltaStream } from './delta-stream.js';
import {
  buildConfig,
  missingResources,
  type ProxyConfig,
  type ResourceEntry,
} from './proxy-config.js';
import { ResourceStore, type SavedType } from './resource-store.js';
import { ResourceTimeouts } from './resource-timeouts.js';
import { RESOURCE_TYPES, type ResourceType, resourceType } from './resource-types.js';
import { openSotwStream } from './sotw-stream.js';
import { type Wants, wantsOf } from './subscriptions.js';
import type { ReceivedUpdate, ResponseOutcome, XdsStream } from './xds-stream.js';

export interface XdsClientOptions {
  /** host:port of the control plane. */
  readonly address: string;
  /**
   * How to reach it: default plaintext; for the secure port, the credentials of
   * controlPlaneCredentials() in src/identity (mesh root + the control plane's SPIFFE ID).
   */
  readonly credentials?: ChannelCredentials;
  /** id + metadata (the workload announcement). */
  readonly node: Node;
  /** Default delta. */
  readonly mode?: 'delta' | 'sotw';
  readonly log: Logger;
  /** Reconnect: full-jitter exponential backoff, default 500 ms .. 30 s. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Default Math.random. */
  readonly random?: () => number;
  /**
   * How long a route configuration or assignment asked for may stay unanswered (while
   * connected) before it is taken not to exist, i.e. empty. Default 15 s.
   */
  readonly resourceTimeoutMs?: number;
  /**
   * The consumer's compiler (e.g. route tables, balancers): run once per new version of a
   * resource, after the built-in validation; a failure is a NACK with its message. What it
   * returns is kept in the resource's entry (`compiled`) until the resource changes.
   */
  readonly compile?: CompileHook;
  /**
   * Whether the consumer accepts a response where it really runs (a primary: in every
   * worker), called for each accepted response that changed a resource or completed a
   * configuration: the response is ACKed only once it resolves with undefined; a message makes
   * it a NACK with that message, and the response is undone (its type's resources as before
   * it, a configuration of them emitted again if one was). A primary has every worker compile
   * the changed resources (or apply the configuration completed), so it ACKs and NACKs the
   * same responses for the same reasons a single process does. Absent: ACKed as soon as it
   * is accepted.
   */
  readonly confirm?: (request: ConfirmRequest) => Promise<string | undefined>;
}

/** What a response brought, for `confirm`. */
export interface ConfirmRequest {
  readonly typeUrl: string;
  /** The resources it added or changed (what the client compiled of it), as accepted. */
  readonly changed: readonly ResourceEntry[];
  /** The new configuration it completed, if it did. */
  readonly config: ProxyConfig | undefined;
}

export interface TypeStatus {
  readonly type: string;
  /** The version last accepted (SotW version_info, delta system_version_info). */
  readonly version: string;
  /** The nonce of the last response. */
  readonly nonce: string;
  readonly lastNack?: string;
  /** Responses of this type rejected (NACKed) since start. */
  readonly nacks: number;
  readonly names: string[] | '*';
}

export interface XdsClientStatus {
  readonly connected: boolean;
  readonly mode: 'delta' | 'sotw';
  readonly types: TypeStatus[];
  /** The version of the last configuration emitted; 0 before the first. */
  readonly configVersion: number;
  /** Responses rejected (NACKed) since start. */
  readonly nacks: number;
}

interface TypeState {
  version: string;
  nonce: string;
  lastNack: string | undefined;
  nacks: number;
}

const DEFAULT_BASE_MS = 500;
const DEFAULT_MAX_MS = 30_000;
const DEFAULT_RESOURCE_TIMEOUT_MS = 15_000;

export class XdsClient {
  private nacks = 0;
  private readonly mode: 'delta' | 'sotw';
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly store = new ResourceStore();
  private readonly timeouts: ResourceTimeouts;
  private readonly typeStates = new Map<string, TypeState>();
  private readonly watchers = new Set<(config: ProxyConfig) => void>();
  private readonly closeWatchers = new Set<() => void>();
  private wants: Wants = new Map();
  private grpcClient: AdsClient | undefined = undefined;
  private stream: XdsStream | undefined = undefined;
  private retryTimer: NodeJS.Timeout | undefined = undefined;
  private connected = false;
  /** Connection attempts that failed since the last success. */
  private failures = 0;
  private started = false;
  private closed = false;
  private config: ProxyConfig | undefined = undefined;
  private emittedGeneration = -1;

  constructor(private readonly options: XdsClientOptions) {
    this.mode = options.mode ?? 'delta';
    this.log = options.log.child({ component: 'xds-client', mode: this.mode });
    this.backoff = new Backoff({
      baseMs: options.backoff?.baseMs ?? DEFAULT_BASE_MS,
      maxMs: options.backoff?.maxMs ?? DEFAULT_MAX_MS,
      random: options.random ?? Math.random,
    });
    this.timeouts = new ResourceTimeouts(
      options.resourceTimeoutMs ?? DEFAULT_RESOURCE_TIMEOUT_MS,
      (typeUrl, name) => this.expire(typeUrl, name),
    );
    for (const t of RESOURCE_TYPES)
      this.typeStates.set(t.typeUrl, { version: '', nonce: '', lastNack: undefined, nacks: 0 });
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connect();
  }

  /** Called with every new complete configuration (the first one means ready). */
  onConfig(fn: (config: ProxyConfig) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  /** The configuration in force: the last complete one, if any. */
  current(): ProxyConfig | undefined {
    return this.config;
  }

  /** Resolves with the first complete configuration; rejects after timeoutMs or on close. */
  ready(timeoutMs: number): Promise<ProxyConfig> {
    if (this.config) return Promise.resolve(this.config);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        off();
        this.closeWatchers.delete(onClose);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no complete xDS configuration from ${this.options.address} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const off = this.onConfig((config) => {
        done();
        resolve(config);
      });
      const onClose = () => {
        done();
        reject(new Error('xDS client closed before the first complete configuration'));
      };
      this.closeWatchers.add(onClose);
    });
  }

  status(): XdsClientStatus {
    return {
      connected: this.connected,
      mode: this.mode,
      types: RESOURCE_TYPES.map((t) => {
        const state = this.typeStates.get(t.typeUrl)!;
        const want = this.wants.get(t.typeUrl);
        return {
          type: t.short,
          version: state.version,
          nonce: state.nonce,
          ...(state.lastNack !== undefined ? { lastNack: state.lastNack } : {}),
          nacks: state.nacks,
          names: want === '*' ? '*' : [...(want ?? [])].sort(),
        };
      }),
      configVersion: this.config?.version ?? 0,
      nacks: this.nacks,
    };
  }

  /** Responses of one type (CDS, EDS, LDS, RDS) rejected (NACKed) since start. */
  nacksOf(short: string): number {
    for (const t of RESOURCE_TYPES)
      if (t.short === short) return this.typeStates.get(t.typeUrl)!.nacks;
    return 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.timeouts.clear();
    this.stream?.close();
    this.stream = undefined;
    this.grpcClient?.close();
    this.grpcClient = undefined;
    this.connected = false;
    for (const fn of [...this.closeWatchers]) fn();
  }

  /**
   * Opens a stream on a fresh channel, so that the reconnect timing is this client's
   * backoff alone (not also grpc-js's channel backoff), and asks for everything wanted.
   */
  private connect(): void {
    if (this.closed) return;
    const creds = this.options.credentials ?? credentials.createInsecure();
    const client = createAdsClient(this.options.address, creds, {
      'grpc.use_local_subchannel_pool': 1,
    });
    const call =
      this.mode === 'delta'
        ? client.DeltaAggregatedResources()
        : client.StreamAggregatedResources();
    const open = this.mode === 'delta' ? openDeltaStream : openSotwStream;
    const stream: XdsStream = open({
      call,
      node: this.options.node,
      versionsOf: (typeUrl) => this.store.versions(typeUrl),
      events: {
        onResponse: (update) =>
          stream === this.stream ? this.onResponse(update) : 'stream replaced',
        onEnd: (status) => {
          if (stream === this.stream) this.onEnd(status.code, status.details);
        },
      },
    });
    this.grpcClient = client;
    this.stream = stream;
    this.log.debug({ address: this.options.address }, 'xDS stream opening');
    this.sync();
  }

  private onEnd(code: number, details: string): void {
    this.stream = undefined;
    this.grpcClient?.close();
    this.grpcClient = undefined;
    this.timeouts.clear();
    const wasConnected = this.connected;
    this.connected = false;
    if (this.closed) return;
    const delayMs = this.backoff.next();
    const fields = { address: this.options.address, code, details, retryInMs: delayMs };
    if (code === status.UNAUTHENTICATED || code === status.PERMISSION_DENIED) {
      // The control plane refused who this is (registration bound to identity): no retry
      // will fix that by itself, so it is said loudly.
      this.log.error(fields, 'xDS stream refused by the control plane; retrying');
    } else if (wasConnected) {
      this.failures = 0;
      this.log.warn(fields, 'xDS stream lost; the last good configuration stays in force');
    } else {
      // Why, with a hint, at warn: on the 1st, 2nd, 4th, 8th ... failure in a row, so a
      // sidecar that keeps failing says so without a line every retry.
      this.failures++;
      if ((this.failures & (this.failures - 1)) === 0) void this.explainFailure(fields);
      else this.log.info(fields, 'xDS stream failed; retrying');
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delayMs);
  }

  private async explainFailure(fields: {
    address: string;
    code: number;
    details: string;
    retryInMs: number;
  }): Promise<void> {
    const tls = this.options.credentials !== undefined;
    const why = await diagnoseConnection(fields.details, { address: fields.address, tls });
    if (this.closed || this.connected) return;
    const attempt = this.failures;
    if (why) {
      this.log.warn(
        { ...fields, attempt, hint: why.hint },
        `cannot connect to the control plane: ${why.reason}; retrying`,
      );
    } else {
      this.log.warn({ ...fields, attempt }, 'cannot connect to the control plane; retrying');
    }
  }

  /** Accepts a response into the store, or returns why it is rejected (the NACK message). */
  private onResponse(update: ReceivedUpdate): ResponseOutcome {
    if (!this.connected) {
      this.connected = true;
      this.backoff.reset();
      this.log.info({ address: this.options.address }, 'xDS stream connected');
    }
    const type = resourceType(update.typeUrl);
    if (!type) return `type ${update.typeUrl} was not asked for`;
    const state = this.typeStates.get(type.typeUrl)!;
    state.nonce = update.nonce;
    const decoded = decodeResources(type, update.resources, this.options.compile, (name) =>
      this.store.known(type.typeUrl, name),
    );
    if (!decoded.ok) {
      state.lastNack = decoded.error;
      state.nacks++;
      this.nacks++;
      this.log.warn(
        { type: type.short, version: update.version, nonce: update.nonce, error: decoded.error },
        'xDS response rejected (NACK); the last good resources stay',
      );
      return decoded.error;
    }
    const confirm = this.options.confirm;
    // Saved only when the consumer may refuse: a client without `confirm` pays nothing.
    const saved = confirm ? this.store.save(type.typeUrl) : undefined;
    const versionBefore = state.version;
    const configBefore = this.config;
    state.version = update.version;
    const received = new Set<string>();
    const changed: ResourceEntry[] = [];
    for (const r of decoded.resources) {
      received.add(r.name);
      const entry = this.store.put(type.typeUrl, r);
      if (entry && confirm) changed.push(entry);
    }
    const gone = [...update.removed];
    if (update.scope === '*') gone.push(...this.store.names(type.typeUrl));
    else if (update.scope) gone.push(...update.scope);
    for (const name of gone) if (!received.has(name)) this.forget(type, name);
    this.store.markReceived(type.typeUrl);
    this.log.debug(
      {
        type: type.short,
        version: update.version,
        resources: decoded.resources.length,
        removed: update.removed.length,
      },
      'xDS response accepted',
    );
    this.sync();
    const completed = this.config !== configBefore ? this.config : undefined;
    // Nothing new to compile or apply (the same bytes again, removals only): ACKed now, as
    // a single process does.
    if (!confirm || !saved || (completed === undefined && changed.length === 0)) return undefined;
    return confirm({ typeUrl: type.typeUrl, changed, config: completed }).then(
      (refusal) =>
        refusal === undefined ? undefined : this.undo(update, saved, versionBefore, refusal),
      (err: unknown) =>
        this.undo(update, saved, versionBefore, String((err as Error)?.message ?? err)),
    );
  }

  /**
   * A response the consumer refused (confirm): its type goes back to what it was, and a
   * configuration of that is emitted again (what refused it keeps running it; the rest go
   * back to it). Returns the NACK's message.
   */
  private undo(
    update: ReceivedUpdate,
    saved: SavedType,
    versionBefore: string,
    refusal: string,
  ): string {
    const state = this.typeStates.get(saved.typeUrl)!;
    state.version = versionBefore;
    state.lastNack = refusal;
    state.nacks++;
    this.nacks++;
    this.log.warn(
      { type: update.typeUrl, version: update.version, nonce: update.nonce, error: refusal },
      'xDS response refused where it was applied (NACK); the last good resources come back',
    );
    if (this.closed) return refusal;
    this.store.restore(saved);
    this.sync();
    return refusal;
  }

  /** A resource the server no longer has: a listener or cluster is gone, a named one is empty. */
  private forget(type: ResourceType, name: string): void {
    if (type.wildcard) this.store.remove(type.typeUrl, name);
    else
      this.store.putMissing(type.typeUrl, name, type.empty(name), (empty) =>
        this.compileEmpty(type, name, empty),
      );
  }

  /** The compiled form of what a missing resource stands for (an empty one compiles). */
  private compileEmpty(type: ResourceType, name: string, empty: Record<string, unknown>): unknown {
    const outcome = runHook(this.options.compile, type.typeUrl, name, empty, undefined);
    if (outcome && !outcome.ok) {
      this.log.error(
        { type: type.short, name, error: outcome.error },
        'an empty xDS resource does not compile',
      );
    }
    return outcome?.ok ? outcome.compiled : undefined;
  }

  private expire(typeUrl: string, name: string): void {
    const type = resourceType(typeUrl);
    if (!type || this.closed) return;
    this.log.warn(
      { type: type.short, name },
      'xDS resource neither arrived nor was reported missing; treating it as empty',
    );
    this.forget(type, name);
    this.sync();
  }

  /** Subscriptions follow the store; a complete store that changed becomes a configuration. */
  private sync(): void {
    this.wants = wantsOf(this.store);
    for (const [typeUrl, want] of this.wants) {
      if (want !== '*') this.store.retain(typeUrl, (name) => want.has(name));
      this.stream?.want(typeUrl, want);
    }
    const missing = missingResources(this.store, this.wants);
    if (this.connected) {
      this.timeouts.track(
        missing.flatMap((m) =>
          m.name === undefined ? [] : [{ typeUrl: m.typeUrl, name: m.name }],
        ),
      );
    }
    if (missing.length === 0 && this.store.generation !== this.emittedGeneration) this.emit();
  }

  private emit(): void {
    const config = buildConfig(this.store, (this.config?.version ?? 0) + 1);
    this.config = config;
    this.emittedGeneration = this.store.generation;
    this.log[config.version === 1 ? 'info' : 'debug'](
      {
        version: config.version,
        listeners: config.listeners.size,
        routes: config.routes.size,
        clusters: config.clusters.size,
        endpoints: config.endpoints.size,
      },
      'xDS configuration complete',
    );
    for (const fn of [...this.watchers]) {
      try {
        fn(config);
      } catch (err) {
        this.log.error({ err }, 'xDS configuration watcher failed');
      }
    }
  }
}
