/**
 * What the SotW and delta streams share: node handling (auto-registration), per-type
 * ACK/NACK bookkeeping and the sync status shown on /debug/syncz.
 * Protocol: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
 */
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/index.js';
import type { Workload } from '../mesh/index.js';
import {
  adminPortFromNode,
  type GatewayNode,
  gatewayFromNode,
  metricsPortFromNode,
  type Node,
  type RpcStatus,
  types,
  workloadFromNode,
} from '../xds/index.js';
import { type AdsLimits, boundedMessage, isKnownType } from './ads-limits.js';
import type { AdsMetrics } from './ads-metrics.js';
import type { VerifiedIdentity } from './membership.js';
import type { Admission, RegistrationGate, Transport } from './registration-gate.js';
import type { Registry } from './registry.js';
import type { Snapshot, TypeSet } from './snapshot.js';
import type { SnapshotCache } from './snapshot-cache.js';
import type { SotwResponseCache } from './sotw-response-cache.js';

export interface StreamContext {
  readonly cache: SnapshotCache;
  readonly registry: Registry;
  readonly log: Logger;
  readonly metrics: AdsMetrics;
  readonly controlPlaneId: string;
  readonly sotwCache: SotwResponseCache;
  readonly limits: AdsLimits;
  /** Who may register (identity-bound when the CA is on). */
  readonly registration: RegistrationGate;
  /**
   * Until this moment (performance.now() ms) the control plane is warming up: it has just
   * started and the workloads that register by connecting have not all come back. A client
   * that reconnects with resources already in hand is held, keeping its last config, until
   * then, so that it is not told that endpoints which simply have not reconnected yet are
   * gone. 0: no warm-up.
   */
  readonly warmUntil: number;
}

export interface Nack {
  readonly nonce: string;
  readonly version: string;
  readonly message: string;
  readonly at: string;
}

/** Per resource type state of one stream. */
export class TypeState {
  /** Subscribed to every resource of the type (explicit `*` or legacy empty list). */
  wildcard = false;
  readonly names = new Set<string>();
  requested = false;
  lastNonce = '';
  lastSentVersion = '';
  sentPublishedAt = 0;
  lastAckedVersion = '';
  lastAckedAt = '';
  lastNack: Nack | undefined;
  /** The type set the last push looked at: the same object again means no change. */
  lastSet: TypeSet | undefined;
  /** SotW: the subscription as a response-cache key. */
  subKey = '';

  /** The names in scope for this subscription in a snapshot's type set. */
  scope(set: TypeSet | undefined): Iterable<string> {
    if (!this.wildcard) return this.names;
    if (!set || this.names.size === 0) return set?.wildcard ?? [];
    return new Set([...set.wildcard, ...this.names]);
  }
}

export interface TypeStatus {
  readonly type: string;
  readonly wildcard: boolean;
  readonly names: string[];
  readonly lastSentVersion: string;
  readonly lastNonce: string;
  readonly lastAckedVersion: string;
  readonly lastAckedAt: string;
  readonly lastNack: Nack | undefined;
}

export interface StreamStatus {
  readonly stream: number;
  readonly nodeId: string;
  readonly mode: 'sotw' | 'delta';
  readonly workload: Workload | undefined;
  /** The identity its credential proved (registration bound to identity); absent otherwise. */
  readonly identity: VerifiedIdentity | undefined;
  /** Why its workload is not an endpoint, when its registration was refused. */
  readonly registrationRefused: string | undefined;
  readonly transport: Transport;
  /** Where the sidecar serves its metrics, if it said (FERRY_METRICS_PORT). */
  readonly metricsPort: number | undefined;
  /** Where the sidecar serves its admin API on its own host, if it said (FERRY_ADMIN_PORT). */
  readonly adminPort: number | undefined;
  /** The client's Node.user_agent_name and user_agent_version, e.g. "ferry 0.1.0". */
  readonly userAgent: string;
  readonly connectedAt: string;
  readonly types: TypeStatus[];
}

type Call = grpc.ServerDuplexStream<object, object>;

/**
 * How long a reconnecting client waits at most for a snapshot holding its own registration
 * (the registry's debounce plus a build; a change that alters no resource publishes nothing).
 */
const OWN_REGISTRATION_WAIT_MS = 2000;

function releaseHeld(s: AdsStream): void {
  s.release();
}

let streamCounter = 0;

export abstract class AdsStream {
  readonly id = ++streamCounter;
  readonly connectedAt = new Date().toISOString();
  abstract readonly mode: 'sotw' | 'delta';
  nodeId = '';
  workload: Workload | undefined;
  /** The Gateway this node serves, when it is a gateway (never registered as an endpoint). */
  gateway: GatewayNode | undefined;
  identity: VerifiedIdentity | undefined;
  registrationRefused: string | undefined;
  metricsPort: number | undefined;
  adminPort: number | undefined;
  userAgent = '';
  protected readonly types = new Map<string, TypeState>();
  private nonceCounter = 0;
  private disconnect: (() => void) | undefined;
  /** Ends this stream's gateway node's record in the registry. */
  private disconnectGateway: (() => void) | undefined;
  private started = false;
  /**
   * Requests received while the stream waits (for its credential to be checked, or for the
   * warm-up to end), answered after it.
   */
  private held: object[] | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  /** Its registration changed the registry, and no snapshot holding it is out yet. */
  private awaitingPublish = false;
  closed = false;

  constructor(
    protected readonly call: Call,
    protected readonly ctx: StreamContext,
    private readonly onClose: (s: AdsStream) => void,
    readonly transport: Transport = 'plaintext',
  ) {
    call.on('data', (req: object) => this.receive(req));
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
  }

  /** Handles one decoded request; subclasses implement the variant's semantics. */
  protected abstract handle(req: object, typeUrl: string, state: TypeState): void;

  /** Sends whatever changed for this client in a newly published generation. */
  abstract push(): void;

  /** Whether a first request says the client already has resources (it is reconnecting). */
  protected abstract hasResources(req: object): boolean;

  /** Held during the control plane's warm-up: pushes wait until it ends. */
  get holding(): boolean {
    return this.held !== undefined;
  }

  private receive(req: object): void {
    if (this.closed) return;
    if (this.held) {
      this.held.push(req);
      return;
    }
    const r = req as { node?: Node; type_url?: string };
    try {
      if (!this.started) {
        this.started = true;
        this.start(req, r.node);
        return;
      }
      if (r.node?.metadata && this.workload && !this.updateNode(r.node)) return;
      this.process(req);
    } catch (err) {
      this.ctx.log.error({ err, node: this.nodeId }, 'xDS request failed');
      this.fail(grpc.status.INTERNAL, `control plane error: ${(err as Error).message}`);
    }
  }

  /**
   * First request: who the client is and, if it announces a workload, whether it may
   * register (a credential check may take a moment: requests wait meanwhile).
   */
  private start(first: object, node: Node | undefined): void {
    this.nodeId = node?.id ?? '';
    const result = workloadFromNode(node);
    if (!result.ok) {
      this.fail(grpc.status.INVALID_ARGUMENT, result.error);
      return;
    }
    this.workload = result.workload;
    const gateway = gatewayFromNode(node);
    if (!gateway.ok) {
      this.fail(grpc.status.INVALID_ARGUMENT, gateway.error);
      return;
    }
    this.gateway = gateway.gateway;
    this.metricsPort = metricsPortFromNode(node);
    this.adminPort = adminPortFromNode(node);
    this.userAgent = [node?.user_agent_name, node?.user_agent_version].filter((x) => x).join(' ');
    // A gateway is served its Gateway's certificates: with the CA on it must prove an
    // identity in the Gateway's namespace first.
    const admission = this.gateway
      ? this.ctx.registration.admitGateway(
          this.gateway.gateway,
          this.nodeId,
          this.transport,
          this.call.metadata,
        )
      : this.workload
        ? this.ctx.registration.admit(this.workload, this.transport, this.call.metadata)
        : undefined;
    if (admission === undefined) {
      this.admitted({ ok: true, identity: undefined }, first);
      return;
    }
    if (!(admission instanceof Promise)) {
      this.admitted(admission, first);
      return;
    }
    this.held = [first];
    admission
      .then((a) => {
        const queued = this.held ?? [];
        this.held = undefined;
        if (this.closed) return;
        this.admitted(a, queued[0] ?? first);
        for (const req of queued.slice(1)) this.receive(req);
      })
      .catch((err: unknown) => {
        this.ctx.log.error({ err, node: this.nodeId }, 'xDS registration check failed');
        this.fail(grpc.status.INTERNAL, `control plane error: ${(err as Error).message}`);
      });
  }

  /** The registration decision is in: register (or refuse), then answer the first request. */
  private admitted(admission: Admission, first: object): void {
    if (!admission.ok && admission.end) {
      this.fail(admission.code, admission.message);
      return;
    }
    if (admission.ok) {
      this.identity = admission.identity;
      if (this.workload) {
        const before = this.ctx.registry.generation;
        this.disconnect = this.ctx.registry.connect(this.workload, admission.identity);
        this.awaitingPublish = this.ctx.registry.generation !== before;
      }
      // Only a gateway whose identity was proven (or with the CA off) becomes a destination.
      if (this.gateway) this.disconnectGateway = this.ctx.registry.connectGateway(this.gateway);
    } else {
      // Served (its own listeners follow its announcement) but not an endpoint.
      this.registrationRefused = `${admission.reason}: ${admission.message}`;
    }
    this.ctx.log.info(
      { node: this.nodeId, mode: this.mode, workload: this.workload?.service },
      'xDS stream connected',
    );
    const wait = this.ctx.warmUntil - performance.now();
    if ((wait > 0 || this.awaitingPublish) && this.hasResources(first)) {
      // A reconnecting client is answered once the control plane has warmed up and once a
      // snapshot holding its own registration is out: answered before, it would be told its
      // own service without itself (a cluster without its mTLS match, say), then with it.
      this.held = [first];
      this.holdTimer = setTimeout(
        releaseHeld,
        Math.max(wait, this.awaitingPublish ? OWN_REGISTRATION_WAIT_MS : 0),
        this,
      );
      this.ctx.log.info(
        { node: this.nodeId, ms: Math.round(Math.max(wait, 0)) },
        'reconnecting client held until the control plane has warmed up and published its registration',
      );
      return;
    }
    this.awaitingPublish = false;
    this.process(first);
  }

  /**
   * A new generation is published while this stream is held: if it was waiting for its own
   * registration, that is now out, and only the warm-up (if any is left) holds it.
   */
  published(): void {
    if (!this.awaitingPublish || !this.held) return;
    this.awaitingPublish = false;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    const wait = this.ctx.warmUntil - performance.now();
    if (wait > 0) this.holdTimer = setTimeout(releaseHeld, wait, this);
    else this.release();
  }

  /** The warm-up is over: answer what the client asked meanwhile, against the config now. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    this.awaitingPublish = false;
    this.holdTimer = undefined;
    if (!held || this.closed) return;
    try {
      for (const req of held) if (!this.closed) this.process(req);
    } catch (err) {
      this.ctx.log.error({ err, node: this.nodeId }, 'xDS request failed');
      this.fail(grpc.status.INTERNAL, `control plane error: ${(err as Error).message}`);
    }
  }

  private process(req: object): void {
    const r = req as { type_url?: string };
    {
      const typeUrl = r.type_url ?? '';
      if (!typeUrl) {
        this.fail(grpc.status.INVALID_ARGUMENT, 'type_url is required');
        return;
      }
      // A type Ferry does not serve (e.g. SDS before mTLS) is answered with no resources; one
      // that is no xDS type at all is refused, so a stream keeps state for a few types only.
      let state = this.types.get(typeUrl);
      if (!state) {
        if (!isKnownType(typeUrl)) {
          this.ctx.metrics.limitRefusals.unknown_type.inc();
          this.fail(
            grpc.status.INVALID_ARGUMENT,
            `type_url ${JSON.stringify(typeUrl.slice(0, 200))} is not an xDS resource type`,
          );
          return;
        }
        state = new TypeState();
        this.types.set(typeUrl, state);
      }
      this.handle(req, typeUrl, state);
    }
  }

  /**
   * A later request carrying node metadata (e.g. a health change) re-registers the workload,
   * checked again against the identity the stream proved. False: the stream was refused.
   */
  private updateNode(node: Node): boolean {
    const result = workloadFromNode({ ...node, id: this.nodeId });
    if (!result.ok || !result.workload) return true;
    // A stream served without registering stays so; it cannot register by asking again.
    if (this.registrationRefused !== undefined) {
      this.workload = result.workload;
      return true;
    }
    const admission = this.ctx.registration.check(result.workload, this.identity, this.transport);
    if (!admission.ok) {
      if (admission.end) {
        this.fail(admission.code, admission.message);
        return false;
      }
      this.registrationRefused = `${admission.reason}: ${admission.message}`;
      this.workload = result.workload;
      this.disconnect?.();
      this.disconnect = undefined;
      return true;
    }
    const previous = this.disconnect;
    this.workload = result.workload;
    this.disconnect = this.ctx.registry.connect(result.workload, this.identity);
    previous?.();
    return true;
  }

  protected snapshot(): Snapshot {
    // A gateway whose identity was not proven (registrationRefused) gets no certificates.
    return this.ctx.cache.snapshotFor(this.workload, this.gateway, !this.registrationRefused);
  }

  protected nextNonce(): string {
    return (++this.nonceCounter).toString(36);
  }

  /** Records an ACK or NACK of the response with this nonce. */
  protected acknowledge(
    typeUrl: string,
    state: TypeState,
    version: string,
    error: RpcStatus | undefined,
  ): void {
    if (error) {
      const message = boundedMessage(error.message || `code ${error.code ?? 'unknown'}`);
      state.lastNack = {
        nonce: state.lastNonce,
        version: state.lastSentVersion,
        message,
        at: new Date().toISOString(),
      };
      this.ctx.metrics.nacks.get(typeUrl)?.inc();
      this.ctx.log.warn(
        {
          node: this.nodeId,
          type: types.shortTypeName(typeUrl),
          version: state.lastSentVersion,
          error: message,
        },
        'xDS response rejected (NACK); the client keeps its previous configuration',
      );
      return;
    }
    state.lastAckedVersion = version;
    state.lastAckedAt = new Date().toISOString();
    if (state.sentPublishedAt) {
      this.ctx.metrics.convergence.observe((performance.now() - state.sentPublishedAt) / 1000);
      state.sentPublishedAt = 0;
    }
  }

  /**
   * Whether a subscription of `size` names stays within --max-subscribed-names; if not, the
   * stream is refused with RESOURCE_EXHAUSTED.
   */
  protected withinNameLimit(typeUrl: string, size: number): boolean {
    const max = this.ctx.limits.maxSubscribedNames;
    if (size <= max) return true;
    this.ctx.metrics.limitRefusals.subscribed_names.inc();
    this.fail(
      grpc.status.RESOURCE_EXHAUSTED,
      `subscription to ${size} ${types.shortTypeName(typeUrl)} names is over the limit of ${max} per type (--max-subscribed-names)`,
    );
    return false;
  }

  /** A request answering a response that is not the latest: ignored, and counted. */
  protected staleNonce(): void {
    this.ctx.metrics.staleNonces.inc();
  }

  protected write(typeUrl: string, bytes: Uint8Array): void {
    this.call.write(bytes);
    this.ctx.metrics.pushes.get(typeUrl)?.inc();
  }

  protected fail(code: grpc.status, details: string): void {
    if (this.closed) return;
    this.ctx.metrics.rejectedNodes.inc();
    this.ctx.log.warn({ node: this.nodeId, details }, 'xDS stream refused');
    this.call.emit('error', { code, details, metadata: new grpc.Metadata() });
    this.close();
  }

  /** Ends the stream from the server side, so the client reconnects (to another replica). */
  shutdown(): void {
    if (this.closed) return;
    this.call.emit('error', {
      code: grpc.status.UNAVAILABLE,
      details: 'control plane shutting down',
      metadata: new grpc.Metadata(),
    });
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.held = undefined;
    this.disconnect?.();
    this.disconnectGateway?.();
    this.onClose(this);
    this.ctx.log.info({ node: this.nodeId, mode: this.mode }, 'xDS stream closed');
  }

  status(): StreamStatus {
    return {
      stream: this.id,
      nodeId: this.nodeId,
      mode: this.mode,
      workload: this.workload,
      identity: this.identity,
      registrationRefused: this.registrationRefused,
      transport: this.transport,
      metricsPort: this.metricsPort,
      adminPort: this.adminPort,
      userAgent: this.userAgent,
      connectedAt: this.connectedAt,
      types: [...this.types].map(([type, s]) => ({
        type: types.shortTypeName(type),
        wildcard: s.wildcard,
        names: [...s.names].sort(),
        lastSentVersion: s.lastSentVersion,
        lastNonce: s.lastNonce,
        lastAckedVersion: s.lastAckedVersion,
        lastAckedAt: s.lastAckedAt,
        lastNack: s.lastNack,
      })),
    };
  }
}
