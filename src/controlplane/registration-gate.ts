/**
 * Auto-registration bound to identity. With the CA on, an xDS stream that announces a
 * workload (FERRY_SERVICE) becomes an endpoint only if it arrived on the secure port with a
 * credential (`authorization: Bearer <token>`, the token the sidecar's CSR uses) that the
 * control plane's verifier accepts, and the proven identity may join the service
 * (membership.ts). The plaintext port serves configuration to anyone (proxyless clients) but
 * registers no one, unless the operator opened it for development
 * (--allow-plaintext-registration). Without the CA there are no identities to check and
 * registration stays open, as before.
 *
 * Two kinds of refusal, as istiod draws the line:
 * - a credential that is bad (invalid_credential) or proves someone other than the node
 *   says it is (identity_mismatch) ends the stream with UNAUTHENTICATED or
 *   PERMISSION_DENIED, as istiod ends an xDS stream whose authentication fails or whose
 *   node metadata does not match its certificate ("authorization failed"): Envoy logs the
 *   status and retries, the sidecar never reports ready;
 * - a genuine (or absent) identity that simply may not join the service it names
 *   (no_credential, not_admitted, not_selected) is served its configuration but does not
 *   become an endpoint: in Istio membership comes from Kubernetes, not from the proxy, and
 *   a proxy outside every Service still gets its config. A pod whose app label names no
 *   Service that selects it (a job, a client) keeps working as a client, where ending its
 *   stream would keep it from ever becoming ready.
 * Each refusal is counted by reason and kept (the last MAX_REFUSALS, by node and reason)
 * for /debug/registry, and the stream's status on /debug/syncz says why it is not an
 * endpoint.
 */
import * as grpc from '@grpc/grpc-js';
import type { CredentialVerifier } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import type { Workload } from '../mesh/index.js';
import type { CounterChild, MetricsRegistry } from '../metrics/index.js';
import { REFUSAL_REASONS, type RefusalReason, type VerifiedIdentity } from './membership.js';
import type { Registry } from './registry.js';

/** Which port a stream came in on. */
export type Transport = 'plaintext' | 'tls';

export type Admission =
  | { readonly ok: true; readonly identity: VerifiedIdentity | undefined }
  | {
      readonly ok: false;
      /** True: end the stream with `code`. False: serve it, without registering. */
      readonly end: boolean;
      readonly code: grpc.status;
      readonly reason: RefusalReason;
      readonly message: string;
    };

export interface RefusedRegistration {
  readonly node: string;
  readonly service: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly address: string;
  readonly transport: Transport;
  readonly reason: RefusalReason;
  readonly message: string;
  /** Whether the stream was ended (else it was served without being registered). */
  readonly ended: boolean;
  /** The last time, ISO 8601. */
  readonly at: string;
  /** How many times this node was refused for this reason (it retries). */
  readonly count: number;
}

export interface RegistrationGateOptions {
  readonly registry: Registry;
  /** Checks credentials; absent: the CA is off and registration is open. */
  readonly verifier?: CredentialVerifier;
  /** Development only: the plaintext port registers workloads without a credential. */
  readonly allowPlaintext?: boolean;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
}

/** Refusals kept for /debug/registry; a node that keeps retrying updates its entry. */
export const MAX_REFUSALS = 256;

const BEARER = /^Bearer\s+(\S+)\s*$/i;

const ADMIT_OPEN: Admission = { ok: true, identity: undefined };

export class RegistrationGate {
  private readonly refusals = new Map<string, RefusedRegistration>();
  private readonly counters: Record<RefusalReason, CounterChild>;

  constructor(private readonly options: RegistrationGateOptions) {
    const family = options.metrics.counter(
      'ferry_xds_registrations_refused_total',
      'Workload registrations refused (stream ended), by reason: no_credential, invalid_credential, identity_mismatch, not_admitted, not_selected.',
      ['reason'],
    );
    this.counters = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, family.labels(r)])) as Record<
      RefusalReason,
      CounterChild
    >;
  }

  /** Whether registrations need a verified identity (the CA is on). */
  get bound(): boolean {
    return this.options.verifier !== undefined;
  }

  /**
   * Whether a stream announcing `workload` may register, and as whom. Synchronous when no
   * credential has to be checked.
   */
  admit(
    workload: Workload,
    transport: Transport,
    metadata: grpc.Metadata,
  ): Admission | Promise<Admission> {
    const verifier = this.options.verifier;
    if (!verifier) return ADMIT_OPEN;
    if (transport === 'plaintext') {
      if (this.options.allowPlaintext) return ADMIT_OPEN;
      return this.refuse(
        workload,
        transport,
        grpc.status.UNAUTHENTICATED,
        'no_credential',
        'registration needs a verified identity: connect to the secure port with a credential (the plaintext port serves configuration only; --allow-plaintext-registration opens it for development)',
      );
    }
    const header = metadata.get('authorization')[0];
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (!token)
      return this.refuse(
        workload,
        transport,
        grpc.status.UNAUTHENTICATED,
        'no_credential',
        'registration needs a credential: send "authorization: Bearer <token>" (ferry proxy --token-file)',
      );
    return verifier.verify(token).then(
      (identity) => this.check(workload, identity, transport),
      (err: unknown) =>
        this.refuse(
          workload,
          transport,
          grpc.status.UNAUTHENTICATED,
          'invalid_credential',
          `credential refused: ${detail(err)}`,
        ),
    );
  }

  /**
   * Whether a gateway node may be served the Gateway `<namespace>/<name>` (its certificates,
   * private keys included). With the CA on it needs a credential on the secure port that
   * proves an identity in the Gateway's namespace, as istiod serves a gateway's Secrets only
   * to proxies of that namespace. A bad credential, or one of another namespace, ends the
   * stream; none at all (the plaintext port) is served its listeners and routes but no
   * certificate, as a workload without one is served but not registered. Without the CA:
   * open.
   */
  admitGateway(
    gateway: string,
    nodeId: string,
    transport: Transport,
    metadata: grpc.Metadata,
  ): Admission | Promise<Admission> {
    const verifier = this.options.verifier;
    if (!verifier) return ADMIT_OPEN;
    const namespace = gateway.split('/')[0];
    const subject = {
      id: nodeId,
      service: `gateway ${gateway}`,
      namespace,
      serviceAccount: '',
      address: '',
    };
    const refuse = (code: grpc.status, reason: RefusalReason, message: string) =>
      this.refuse(subject, transport, code, reason, message);
    if (transport === 'plaintext' && !this.options.allowPlaintext) {
      return refuse(
        grpc.status.UNAUTHENTICATED,
        'no_credential',
        `a gateway is given its certificates only with a verified identity in namespace ${namespace}: connect to the secure port with a credential (ferry gateway --token-file)`,
      );
    }
    const header = metadata.get('authorization')[0];
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (!token) {
      if (transport === 'plaintext') return ADMIT_OPEN;
      return refuse(
        grpc.status.UNAUTHENTICATED,
        'no_credential',
        'a gateway is given its certificates only with a credential: send "authorization: Bearer <token>" (ferry gateway --token-file)',
      );
    }
    return verifier.verify(token).then(
      (identity): Admission =>
        identity.namespace === namespace
          ? { ok: true, identity }
          : refuse(
              grpc.status.PERMISSION_DENIED,
              'identity_mismatch',
              `${identity.namespace}/${identity.serviceAccount} may not serve Gateway ${gateway}: a gateway's identity is in the Gateway's namespace`,
            ),
      (err: unknown) =>
        refuse(
          grpc.status.UNAUTHENTICATED,
          'invalid_credential',
          `credential refused: ${detail(err)}`,
        ),
    );
  }

  /** A stream's workload, proven to be `identity`, against the services as they are now. */
  check(
    workload: Workload,
    identity: VerifiedIdentity | undefined,
    transport: Transport,
  ): Admission {
    if (!identity) return ADMIT_OPEN;
    const refusal = this.options.registry.checkMembership(workload, identity);
    if (!refusal) return { ok: true, identity };
    return this.refuse(
      workload,
      transport,
      grpc.status.PERMISSION_DENIED,
      refusal.reason,
      `registration refused: ${refusal.message}`,
    );
  }

  private refuse(
    workload: Pick<Workload, 'id' | 'service' | 'namespace' | 'serviceAccount' | 'address'>,
    transport: Transport,
    code: grpc.status,
    reason: RefusalReason,
    message: string,
  ): Admission {
    const end = reason === 'invalid_credential' || reason === 'identity_mismatch';
    this.counters[reason].inc();
    const key = `${workload.id}\u0000${reason}`;
    const previous = this.refusals.get(key);
    // Re-inserted, so the map's order is oldest first and the oldest is what goes.
    this.refusals.delete(key);
    this.refusals.set(key, {
      node: workload.id,
      service: workload.service,
      namespace: workload.namespace,
      serviceAccount: workload.serviceAccount,
      address: workload.address,
      transport,
      reason,
      message,
      ended: end,
      at: new Date().toISOString(),
      count: (previous?.count ?? 0) + 1,
    });
    if (this.refusals.size > MAX_REFUSALS) {
      const oldest = this.refusals.keys().next().value;
      if (oldest !== undefined) this.refusals.delete(oldest);
    }
    this.options.log.warn(
      { node: workload.id, service: workload.service, transport, reason, message },
      end
        ? 'workload registration refused; stream ended'
        : 'workload registration refused; served its configuration, not an endpoint',
    );
    return { ok: false, end, code, reason, message };
  }

  /** Recent refusals, newest first. */
  refused(): RefusedRegistration[] {
    return [...this.refusals.values()].reverse();
  }
}

function detail(err: unknown): string {
  if (err && typeof err === 'object' && 'detail' in err && typeof err.detail === 'string')
    return err.detail;
  return err instanceof Error ? err.message : String(err);
}
