/**
 * The identity service: checks the transport, then the credential, then the CSR, then signs
 * for the identity the credential proves. Each outcome is a clear gRPC status and a count in
 * ferry_identity_csr_total{result}:
 *   issued | plaintext | unauthenticated | permission_denied | invalid_argument | internal
 *
 * Only over TLS by default, as istiod serves its CA only on its TLS port (15012) and never
 * on the plaintext xDS port (15010): over plaintext the bearer token travels in the clear
 * to whoever is on the path (who can replay it to get certificates for that identity), and
 * the workload cannot tell the control plane it talks to from an impostor handing it a
 * trust bundle of its own.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/index.js';
import type { CounterChild, MetricsRegistry } from '../metrics/index.js';
import type { CertificateAuthority } from './certificate-authority.js';
import type { CredentialVerifier } from './credential-verifier.js';
import { checkCsr } from './csr.js';
import {
  type CreateCertificateRequest,
  type CreateCertificateResponse,
  identityServiceDefinition,
} from './identity-api.js';
import { IdentityError } from './identity-error.js';
import { spiffeIdOf } from './spiffe-id.js';

export type CsrResult =
  | 'issued'
  | 'plaintext'
  | 'unauthenticated'
  | 'permission_denied'
  | 'invalid_argument'
  | 'internal';

const RESULTS: readonly CsrResult[] = [
  'issued',
  'plaintext',
  'unauthenticated',
  'permission_denied',
  'invalid_argument',
  'internal',
];

export interface IdentityServiceOptions {
  readonly ca: CertificateAuthority;
  readonly verifier: CredentialVerifier;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /**
   * Development only: also sign CSRs that come over a plaintext connection. Off by
   * default: those are refused with FAILED_PRECONDITION (FERRY_CSR_PLAINTEXT).
   */
  readonly allowPlaintext?: boolean;
}

/** Why a CSR over plaintext is refused: what to do instead, in the gRPC status details. */
const PLAINTEXT_REFUSAL = new IdentityError(
  'FERRY_CSR_PLAINTEXT',
  "certificate signing requests are served over TLS only, on the control plane's secure port " +
    '(--secure-port, 15012 by default): over this plaintext connection the token would cross ' +
    'the network in the clear; send the CSR to the secure port with the mesh root (--ca-root), ' +
    'or start the control plane with --allow-plaintext-csr (development only)',
).detail;

class Refusal extends Error {
  constructor(
    readonly status: grpc.status,
    readonly result: CsrResult,
    message: string,
  ) {
    super(message);
  }
}

export class IdentityService {
  private readonly counts: Record<CsrResult, CounterChild>;
  private readonly log: Logger;

  constructor(private readonly options: IdentityServiceOptions) {
    this.log = options.log.child({ component: 'identity' });
    const family = options.metrics.counter(
      'ferry_identity_csr_total',
      'Certificate signing requests to the identity service, by result.',
      ['result'],
    );
    this.counts = Object.fromEntries(RESULTS.map((r) => [r, family.labels(r)])) as Record<
      CsrResult,
      CounterChild
    >;
  }

  /**
   * Serves the identity API on `server`, whose port is `transport`: the caller says which, as
   * the call cannot tell (grpc-js's auth context reports TLS only for a client that sent a
   * verified certificate, which a workload asking for its first one has not).
   */
  register(server: grpc.Server, transport: 'tls' | 'plaintext'): void {
    const tls = transport === 'tls';
    server.addService(identityServiceDefinition, {
      CreateCertificate: (
        call: grpc.ServerUnaryCall<CreateCertificateRequest, CreateCertificateResponse>,
        callback: grpc.sendUnaryData<CreateCertificateResponse>,
      ) => {
        this.handle(call.request, tls).then(
          (response) => callback(null, response),
          (err: Refusal) => callback({ code: err.status, details: err.message }),
        );
      },
    });
  }

  /**
   * One request to its response, or a Refusal carrying the status to send. `tls`: whether it
   * came over TLS (a plaintext one is refused before its token is even looked at, unless
   * allowPlaintext).
   */
  async handle(
    request: CreateCertificateRequest,
    tls: boolean,
  ): Promise<CreateCertificateResponse> {
    const ca = this.options.ca;
    try {
      if (!tls && this.options.allowPlaintext !== true)
        throw new Refusal(grpc.status.FAILED_PRECONDITION, 'plaintext', PLAINTEXT_REFUSAL);
      let name: Awaited<ReturnType<CredentialVerifier['verify']>>;
      try {
        name = await this.options.verifier.verify(request.token ?? '');
      } catch (err) {
        throw new Refusal(grpc.status.UNAUTHENTICATED, 'unauthenticated', messageOf(err));
      }
      const spiffeId = spiffeIdOf(ca.trustDomain, name);
      let csr: Awaited<ReturnType<typeof checkCsr>>;
      try {
        csr = await checkCsr(request.csr ?? '');
      } catch (err) {
        throw new Refusal(grpc.status.INVALID_ARGUMENT, 'invalid_argument', messageOf(err));
      }
      const other = csr.uris.find((u) => u !== spiffeId);
      if (other !== undefined)
        throw new Refusal(
          grpc.status.PERMISSION_DENIED,
          'permission_denied',
          new IdentityError(
            'FERRY_CSR_IDENTITY',
            `the CSR asks for ${other}, but the credential proves ${spiffeId}`,
          ).detail,
        );
      const issued = await ca.sign(csr, spiffeId, (Number(request.validity_seconds) || 0) * 1000);
      this.counts.issued.inc();
      this.log.info({ spiffeId, notAfter: issued.notAfter.toISOString() }, 'certificate issued');
      return { cert_chain: [...issued.chain], trust_bundle: [...issued.roots] };
    } catch (err) {
      const refusal =
        err instanceof Refusal
          ? err
          : new Refusal(grpc.status.INTERNAL, 'internal', `signing failed: ${messageOf(err)}`);
      this.counts[refusal.result].inc();
      this.log.warn({ result: refusal.result, reason: refusal.message }, 'CSR refused');
      throw refusal;
    }
  }
}

function messageOf(err: unknown): string {
  if (err instanceof IdentityError) return err.detail;
  return err instanceof Error ? err.message : String(err);
}
