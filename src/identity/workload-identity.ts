/**
 * The sidecar's identity: it makes its own ECDSA P-256 key (which never leaves this
 * process), sends a CSR with its credential to the identity service, and holds the
 * certificate it gets. It renews at half life with a fresh key (as Istio's agent does),
 * retries a failed renewal with full-jitter exponential backoff while the current
 * certificate stays in force, and tells listeners after each new certificate, so that
 * the data path builds a new TLS context for new connections.
 * Backoff: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import type { Logger } from '../log/index.js';
import { buildCsr } from './csr.js';
import type { IdentityApi } from './identity-api.js';
import { IssuedCertificate } from './issued-certificate.js';
import { generateP256, privateKeyPem, spkiOf } from './x509.js';

/** Time and timers, injected so that tests drive rotation by hand. */
export interface IdentityTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: IdentityTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface WorkloadIdentityOptions {
  readonly api: IdentityApi;
  /** The credential, asked afresh for every request (a token file may be replaced). */
  readonly credential: () => string | Promise<string>;
  /** The SPIFFE ID to ask for in the CSR; the service decides in any case. */
  readonly spiffeId?: string;
  /** Asked lifetime; default: the CA's. */
  readonly validitySeconds?: number;
  readonly log: Logger;
  readonly timers?: IdentityTimers;
  readonly random?: () => number;
  /** Retry backoff, default 1 s .. 60 s. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /**
   * How many times in a row the identity service may refuse the credential
   * (UNAUTHENTICATED, PERMISSION_DENIED) before the first certificate is given up on:
   * start() rejects with a CredentialRefusedError. Default 5. Renewals keep retrying while
   * the current certificate lasts.
   */
  readonly maxCredentialFailures?: number;
  /** Explains a failure that is not a refusal (the sidecar's connection diagnosis). */
  readonly diagnose?: (
    details: string,
  ) => Promise<{ readonly reason: string; readonly hint: string } | undefined>;
}

export const DEFAULT_MAX_CREDENTIAL_FAILURES = 5;

/** gRPC's UNAUTHENTICATED and PERMISSION_DENIED: the identity service said no. */
const REFUSALS: ReadonlySet<unknown> = new Set([16, 7]);

/** The identity service refused the workload's credential too often to go on. */
export class CredentialRefusedError extends Error {
  readonly code = 'FERRY_CREDENTIAL_REFUSED';
  constructor(
    readonly attempts: number,
    readonly reason: string,
  ) {
    super(
      `the control plane refused this workload's credential ${attempts} times in a row (${reason}); ` +
        'check --token-file: a token from ferry token --ca-dir DIR -n NAMESPACE -s SERVICE_ACCOUNT ' +
        "of this control plane's CA, for this sidecar's --namespace and --service-account, not expired",
    );
    this.name = 'CredentialRefusedError';
  }
}

export type CertificateListener = (cert: IssuedCertificate) => void;

export class WorkloadIdentity {
  private cert: IssuedCertificate | undefined = undefined;
  private readonly listeners = new Set<CertificateListener>();
  private readonly timers: IdentityTimers;
  private readonly random: () => number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly log: Logger;
  private timer: unknown = undefined;
  private failures = 0;
  /** Refusals of the credential in a row. */
  private refusals = 0;
  /** Set when the first certificate was given up on: ready() rejects with it. */
  private refused: CredentialRefusedError | undefined = undefined;
  private closed = false;
  private started = false;
  private inFlight: Promise<void> | undefined = undefined;
  private readonly firstWaiters: Array<{
    resolve: (cert: IssuedCertificate) => void;
    reject: (err: Error) => void;
  }> = [];
  /** Certificates received (the first counts). */
  generation = 0;
  lastError: string | undefined = undefined;

  constructor(private readonly options: WorkloadIdentityOptions) {
    this.timers = options.timers ?? REAL_TIMERS;
    this.random = options.random ?? Math.random;
    this.baseMs = options.backoff?.baseMs ?? 1000;
    this.maxMs = options.backoff?.maxMs ?? 60_000;
    this.log = options.log.child({ component: 'workload-identity' });
  }

  /** Starts fetching; resolves with the first certificate (retrying until then). */
  start(): Promise<IssuedCertificate> {
    if (!this.started) {
      this.started = true;
      this.renew();
    }
    return this.ready();
  }

  /**
   * Resolves with the current certificate, or the first one to come; rejects with a
   * CredentialRefusedError once the credential was refused maxCredentialFailures times.
   */
  ready(): Promise<IssuedCertificate> {
    if (this.cert) return Promise.resolve(this.cert);
    if (this.refused) return Promise.reject(this.refused);
    return new Promise((resolve, reject) => this.firstWaiters.push({ resolve, reject }));
  }

  /** The certificate in force (undefined until the first one arrives). */
  current(): IssuedCertificate | undefined {
    return this.cert;
  }

  /** Called after every new certificate; returns a function that stops the calls. */
  onChange(listener: CertificateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Renews now (and reschedules); resolves when this attempt has ended. */
  renewNow(): Promise<void> {
    return this.renew();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    this.options.api.close();
  }

  private renew(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight = this.attempt();
    return this.inFlight;
  }

  private async attempt(): Promise<void> {
    let next: IssuedCertificate;
    try {
      next = await this.fetch();
    } catch (err) {
      // Settled: cleared before anything below can start the next attempt (a timer due
      // now, a listener calling renewNow), which must not be folded into this one.
      this.inFlight = undefined;
      if (this.closed) return;
      this.failures++;
      this.lastError = messageOf(err);
      const refused = REFUSALS.has((err as { code?: unknown }).code);
      this.refusals = refused ? this.refusals + 1 : 0;
      const max = this.options.maxCredentialFailures ?? DEFAULT_MAX_CREDENTIAL_FAILURES;
      if (refused && !this.cert && this.refusals >= max) {
        this.giveUp(new CredentialRefusedError(this.refusals, this.lastError));
        return;
      }
      const why = refused
        ? {
            reason: 'the control plane refuses the credential',
            hint: this.cert
              ? 'check --token-file; the current certificate stays in force until it expires'
              : `check --token-file; giving up after ${max} refusals in a row`,
          }
        : await this.options.diagnose?.(this.lastError);
      if (this.closed) return;
      const cap = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures - 1, 30));
      const delay = Math.max(1, Math.floor(this.random() * cap));
      const what = this.cert
        ? 'certificate renewal failed; keeping the current certificate and retrying'
        : 'cannot get a workload certificate yet; retrying';
      this.log.warn(
        {
          err: this.lastError,
          attempt: this.failures,
          retryInMs: delay,
          current: this.cert ? this.cert.notAfter.toISOString() : 'none',
          ...(why ? { hint: why.hint } : {}),
        },
        why ? `${what}: ${why.reason}` : what,
      );
      this.schedule(delay);
      return;
    }
    this.inFlight = undefined;
    if (this.closed) return;
    this.failures = 0;
    this.lastError = undefined;
    this.cert = next;
    this.generation++;
    const lifetime = next.notAfter.getTime() - next.notBefore.getTime();
    const renewAt = next.notBefore.getTime() + lifetime / 2;
    this.log.info(
      {
        spiffeId: next.spiffeId,
        serialNumber: next.serialNumber,
        notAfter: next.notAfter.toISOString(),
        renewAt: new Date(renewAt).toISOString(),
      },
      'workload certificate in force',
    );
    this.schedule(Math.max(0, renewAt - this.timers.now()));
    for (const w of this.firstWaiters.splice(0)) w.resolve(next);
    for (const listener of [...this.listeners]) {
      try {
        listener(next);
      } catch (err) {
        this.log.error({ err: messageOf(err) }, 'certificate listener failed');
      }
    }
  }

  /** No certificate and the credential refused: stop, and tell whoever waits for one. */
  private giveUp(err: CredentialRefusedError): void {
    this.refused = err;
    this.log.error({ err: err.reason, attempts: err.attempts }, err.message);
    for (const w of this.firstWaiters.splice(0)) w.reject(err);
    this.close();
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.renew();
    }, ms);
  }

  /** One CSR round trip with a fresh key; checks that the answer fits the key. */
  private async fetch(): Promise<IssuedCertificate> {
    const keys = await generateP256();
    const spiffeId = this.options.spiffeId;
    const response = await this.options.api.createCertificate({
      csr: await buildCsr(keys, spiffeId),
      token: await this.options.credential(),
      validity_seconds: this.options.validitySeconds ?? 0,
    });
    const [leafPem] = response.cert_chain;
    if (!leafPem) throw new Error('the identity service returned no certificate');
    if (response.trust_bundle.length === 0)
      throw new Error('the identity service returned no trust bundle');
    const leaf = new X509Certificate(leafPem);
    const key = await privateKeyPem(keys.privateKey);
    if (!spkiOf(createPublicKey(key)).equals(spkiOf(leaf.publicKey)))
      throw new Error('the identity service returned a certificate for another key');
    const cert = new IssuedCertificate(key, response.cert_chain, response.trust_bundle);
    if (spiffeId && cert.spiffeId !== spiffeId)
      throw new Error(
        `the identity service returned a certificate for ${cert.spiffeId}, not ${spiffeId}`,
      );
    return cert;
  }

  toJSON(): object {
    return {
      spiffeId: this.cert?.spiffeId ?? this.options.spiffeId,
      generation: this.generation,
      notAfter: this.cert?.notAfter.toISOString(),
      lastError: this.lastError,
      key: this.cert ? '[redacted]' : undefined,
    };
  }

  [inspect.custom](): string {
    return `WorkloadIdentity ${inspect(this.toJSON())}`;
  }
}

function messageOf(err: unknown): string {
  const e = err as { code?: unknown; details?: unknown } | undefined;
  if (e && typeof e.details === 'string')
    return typeof e.code === 'number' ? `gRPC status ${e.code}: ${e.details}` : e.details;
  return err instanceof Error ? err.message : String(err);
}
