/**
 * TLS between sidecars and the control plane (the secure port, 15012 by default).
 * Server side: the control plane issues itself a certificate from its own CA — SPIFFE ID
 * spiffe://<td>/ns/<ferry namespace>/sa/ferry-control-plane, plus DNS/IP SANs for its
 * host — and renews it at half life; grpc-js takes each one for new connections through
 * its certificate-provider hook. Client side: the sidecar trusts only the mesh root and
 * accepts the server only if it carries the control plane's SPIFFE ID (host names are not
 * what identifies it, as with Istio's istiod).
 */
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/index.js';
import type { CertificateAuthority } from './certificate-authority.js';
import { IdentityError } from './identity-error.js';
import { uriSans } from './issued-certificate.js';
import { spiffeIdOf } from './spiffe-id.js';
import type { IdentityTimers } from './workload-identity.js';

export const DEFAULT_FERRY_NAMESPACE = 'ferry-system';
export const CONTROL_PLANE_SERVICE_ACCOUNT = 'ferry-control-plane';

export function controlPlaneSpiffeId(
  trustDomain: string,
  namespace: string = DEFAULT_FERRY_NAMESPACE,
): string {
  return spiffeIdOf(trustDomain, { namespace, serviceAccount: CONTROL_PLANE_SERVICE_ACCOUNT });
}

export type IdentityUpdate = { certificate: Buffer; privateKey: Buffer };
type IdentityListener = (update: IdentityUpdate | null) => void;

export interface ServingCertificateOptions {
  readonly ca: CertificateAuthority;
  readonly spiffeId: string;
  /** Host names and addresses the certificate also names (for non-Ferry clients). */
  readonly hosts: readonly string[];
  readonly log: Logger;
  readonly timers: IdentityTimers;
  /** Retry after a failed renewal; default 5 s. */
  readonly retryMs?: number;
}

/**
 * The control plane's own serving certificate, as a grpc-js CertificateProvider (identity
 * half only: clients authenticate with their credential inside the call, not with TLS).
 */
export class ServingCertificate implements grpc.experimental.CertificateProvider {
  private latest: IdentityUpdate | null = null;
  private readonly listeners = new Set<IdentityListener>();
  private timer: unknown = undefined;
  private closed = false;
  notAfter: Date | undefined = undefined;
  generation = 0;

  constructor(private readonly options: ServingCertificateOptions) {}

  /** Issues the first certificate (and schedules renewals). */
  async start(): Promise<void> {
    await this.renew();
  }

  serverCredentials(): grpc.ServerCredentials {
    return grpc.experimental.createCertificateProviderServerCredentials(this, null, false);
  }

  private async renew(): Promise<void> {
    const { ca, spiffeId, timers, log } = this.options;
    try {
      const dns = this.options.hosts.filter((h) => isIP(h) === 0);
      const ips = this.options.hosts.filter((h) => isIP(h) !== 0);
      const issued = await ca.issueLocal(spiffeId, undefined, { dns, ips });
      if (this.closed) return;
      this.latest = {
        certificate: Buffer.from(issued.chain.join('\n')),
        privateKey: Buffer.from(issued.key),
      };
      this.notAfter = issued.notAfter;
      this.generation++;
      const now = timers.now();
      const renewIn = Math.max(0, (issued.notAfter.getTime() - now) / 2);
      log.info(
        { spiffeId, notAfter: issued.notAfter.toISOString() },
        'control plane serving certificate issued',
      );
      for (const l of this.listeners) l(this.latest);
      this.timer = timers.setTimeout(() => void this.renew(), renewIn);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'control plane serving certificate failed');
      if (!this.closed)
        this.timer = timers.setTimeout(() => void this.renew(), this.options.retryMs ?? 5000);
      if (this.latest === null) throw err;
    }
  }

  /** The certificate (PEM chain) and key now served; null before start() resolved. */
  get current(): IdentityUpdate | null {
    return this.latest;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
  }

  addCaCertificateListener(): void {}
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.listeners.add(listener);
    // grpc-js adds its own watcher only after this returns, so an immediate call would
    // reach no one and the port would drop every connection until the first renewal.
    queueMicrotask(() => {
      if (this.listeners.has(listener)) listener(this.latest);
    });
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.listeners.delete(listener);
  }

  toJSON(): object {
    return { spiffeId: this.options.spiffeId, notAfter: this.notAfter, key: '[redacted]' };
  }
}

/**
 * Channel credentials for a sidecar talking to the control plane's secure port: the
 * server chain must verify against `rootPem`, and its leaf must carry `expectedSpiffeId`
 * as a URI SAN (any host name is accepted in place of the usual host-name check).
 */
export function controlPlaneCredentials(
  rootPem: string | Buffer,
  expectedSpiffeId: string,
): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(rootPem), null, null, {
    checkServerIdentity: (_host, cert) => {
      const ids = uriSans(cert);
      if (ids.includes(expectedSpiffeId)) return undefined;
      return new IdentityError(
        'FERRY_CONTROL_PLANE_IDENTITY',
        `the control plane presented ${ids.length ? ids.join(', ') : 'no SPIFFE ID'}, expected ${expectedSpiffeId}`,
      );
    },
  });
}
