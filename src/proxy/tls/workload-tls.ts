/**
 * The sidecar's own certificate as TLS needs it: one secure context (key, chain, trust
 * bundle; TLS 1.3 only) built when a certificate arrives or rotates, never per connection.
 * New connections take the context in force when they open; live ones keep theirs, so a
 * rotation closes nothing. The key stays in this process and is never logged.
 */
import tls from 'node:tls';

/** A workload certificate: PEM key, chain (leaf first) and trust bundle (roots). */
export interface WorkloadCertificate {
  readonly key: string;
  readonly chain: string;
  readonly roots: string;
}

/** Where certificates come from (the identity client): the current one, and changes. */
export interface CertificateSource {
  current(): WorkloadCertificate | undefined;
  /** Called after every new certificate; returns a function that stops the calls. */
  onChange(listener: () => void): () => void;
}

/** Anything that hands out the secure context for a connection opening now. */
export interface SecureContextSource {
  context(): tls.SecureContext | undefined;
}

export class WorkloadTls implements SecureContextSource {
  private secure: tls.SecureContext | undefined;
  private readonly stop: () => void;
  /** Rotations applied (the first certificate counts as one). */
  generation = 0;

  constructor(private readonly source: CertificateSource) {
    this.rebuild();
    this.stop = source.onChange(() => this.rebuild());
  }

  /** The context for a connection opening now; undefined until the first certificate. */
  context(): tls.SecureContext | undefined {
    return this.secure;
  }

  private rebuild(): void {
    const cert = this.source.current();
    if (!cert) return;
    this.secure = tls.createSecureContext({
      key: cert.key,
      cert: cert.chain,
      ca: cert.roots,
      minVersion: 'TLSv1.3',
    });
    this.generation++;
  }

  close(): void {
    this.stop();
  }

  toJSON(): object {
    return { generation: this.generation, ready: this.secure !== undefined };
  }
}
