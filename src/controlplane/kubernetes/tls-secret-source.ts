/**
 * Gateway listeners' `certificateRefs` in Kubernetes: the cluster's `kubernetes.io/tls`
 * Secrets (`tls.crt`, `tls.key`), listed and watched with a field selector on their type, so
 * no other Secret (service-account tokens, opaque data) is ever read. They become TlsSecrets
 * named `<namespace>/<name>`, as the mesh file's `secrets:` files do (secret-files.ts).
 * A Secret whose key does not belong to its certificate is not published: a Secret that had a
 * good pair keeps it (marked with the problem, so the listener's ResolvedRefs says
 * InvalidCertificateRef), one that never had one stays missing.
 */
import {
  CoreV1Api,
  type KubeConfig,
  ListWatch,
  type V1Secret,
  type V1SecretList,
  Watch,
} from '@kubernetes/client-node';
import type { TlsSecret } from '../../gatewayapi/index.js';
import type { Logger } from '../../log/index.js';
import { pairProblem } from '../secret-files.js';
import { describeApiError } from './kube-error.js';

/** The Secret type a TLS certificate and key are kept in (core/v1 SecretTypeTLS). */
export const TLS_SECRET_TYPE = 'kubernetes.io/tls';
const TLS_FIELD_SELECTOR = `type=${TLS_SECRET_TYPE}`;

export interface TlsSecretSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly log: Logger;
  /** Every usable Secret after each change of what is published. */
  readonly onChange: (secrets: readonly TlsSecret[]) => void;
  /** Quiet period before reporting a change. Default 100 ms. */
  readonly debounceMs?: number;
  /** Delay before a failed list or watch is tried again. Default 1 s, doubling to 30 s. */
  readonly retryMs?: number;
}

export class TlsSecretSource {
  private readonly informer: ListWatch<V1Secret>;
  private readonly api: CoreV1Api;
  private published = new Map<string, TlsSecret>();
  private closed = false;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private retryMs: number;

  constructor(private readonly o: TlsSecretSourceOptions) {
    this.api = o.kubeConfig.makeApiClient(CoreV1Api);
    this.retryMs = o.retryMs ?? 1000;
    this.informer = new ListWatch<V1Secret>(
      '/api/v1/secrets',
      new Watch(o.kubeConfig),
      () => this.list(),
      false,
      undefined,
      TLS_FIELD_SELECTOR,
    );
    this.informer.on('change', () => this.changed());
    this.informer.on('error', (err: unknown) => this.failed(err));
  }

  async start(): Promise<void> {
    await this.startInformer();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    await this.informer.stop();
  }

  private async list(): Promise<V1SecretList> {
    const list = await this.api.listSecretForAllNamespaces({
      fieldSelector: TLS_FIELD_SELECTOR,
    });
    this.changed();
    return list;
  }

  private async startInformer(): Promise<void> {
    if (this.closed) return;
    try {
      await this.informer.start();
    } catch {
      // Reported through the informer's error event.
    }
    if (this.closed) await this.informer.stop();
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
    this.o.log.warn(
      { kind: 'Secret', err: describeApiError(err), retryInMs: delay },
      'kubernetes watch failed; listing again after a pause',
    );
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.startInformer(), delay);
  }

  private changed(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.report(), this.o.debounceMs ?? 100);
  }

  private report(): void {
    if (this.closed) return;
    const next = new Map<string, TlsSecret>();
    for (const secret of this.informer.list()) {
      const namespace = secret.metadata?.namespace ?? '';
      const name = secret.metadata?.name ?? '';
      const key = `${namespace}/${name}`;
      const read = readTlsSecret(secret);
      if (typeof read !== 'string') {
        next.set(key, { name, namespace, ...read });
        continue;
      }
      const previous = this.published.get(key);
      if (previous?.problem !== read)
        this.o.log.error(
          { secret: key, problem: read },
          previous
            ? 'TLS Secret not reloaded; the previous certificate stays in force'
            : 'TLS Secret not loaded',
        );
      if (previous) next.set(key, { ...previous, problem: read });
    }
    if (same(this.published, next)) return;
    this.published = next;
    this.o.onChange([...next.values()]);
  }
}

/** A TLS Secret's PEM pair, or why it is not usable. */
export function readTlsSecret(
  secret: V1Secret,
): { certificateChain: string; privateKey: string } | string {
  const crt = secret.data?.['tls.crt'];
  const key = secret.data?.['tls.key'];
  if (crt === undefined || key === undefined) return 'it has no tls.crt and tls.key';
  const certificateChain = Buffer.from(crt, 'base64').toString('utf8');
  const privateKey = Buffer.from(key, 'base64').toString('utf8');
  return pairProblem(certificateChain, privateKey) ?? { certificateChain, privateKey };
}

function same(a: ReadonlyMap<string, TlsSecret>, b: ReadonlyMap<string, TlsSecret>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (
      !w ||
      w.certificateChain !== v.certificateChain ||
      w.privateKey !== v.privateKey ||
      w.problem !== v.problem
    )
      return false;
  }
  return true;
}
