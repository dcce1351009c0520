/**
 * Watches the cluster's Services, EndpointSlices, Pods and Namespaces with
 * @kubernetes/client-node's informers (a list, then a watch from its resourceVersion) and
 * reports the translated services through one narrow callback, debounced: a rollout that
 * touches fifty pods is one push, not fifty. Namespaces do not change the services; their
 * labels are kept for the injection webhook (namespaceLabels).
 *
 * A watch can end in three ways, and each is survived:
 *  - the API server closes it (its timeout): the informer watches again from where it was;
 *  - "410 Gone" (the resourceVersion is too old, as an ERROR event or the HTTP status): the
 *    informer lists again from scratch, reporting what disappeared meanwhile as deletions;
 *  - any other failure (connection refused, 5xx, 403): the informer stops, and this watcher
 *    starts it again after a backoff (doubling from `retryMs` to `maxRetryMs`).
 * Until every informer has listed once nothing is reported, so a starting control plane
 * never publishes a half-known cluster.
 */
import {
  type CoreV1Api,
  type DiscoveryV1Api,
  type KubeConfig,
  type KubernetesObject,
  type ListWatch,
  makeInformer,
} from '@kubernetes/client-node';
import type { Logger } from '../../log/index.js';
import type { Service } from '../../mesh/index.js';
import type { KubeEndpointSlice, KubeNamespace, KubePod, KubeService } from './kube-objects.js';
import { translateCluster } from './translate-cluster.js';

export interface ClusterWatcherOptions {
  readonly kubeConfig: KubeConfig;
  /** The API clients, made from kubeConfig by the caller (kubeConfig.makeApiClient). */
  readonly coreApi: CoreV1Api;
  readonly discoveryApi: DiscoveryV1Api;
  /** DNS suffix of host names (the mesh's `domain`); setDomain() changes it. */
  readonly domain: string;
  /** Called with every service of the cluster after a change, at most once per quiet period. */
  readonly onChange: (services: Service[]) => void;
  readonly log: Logger;
  /** Quiet period before reporting a change. Default 100 ms. */
  readonly debounceMs?: number;
  /** Longest a change waits while changes keep coming. Default 500 ms (as pushes, SPEC). */
  readonly maxDelayMs?: number;
  /** First delay before restarting a failed watch. Default 1 s; doubles up to maxRetryMs. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /** Told of each failed list or watch (for a count), besides the warning logged. */
  readonly onWatchError?: (kind: string) => void;
}

type AnyInformer = ListWatch<KubernetesObject>;

interface Watched {
  readonly kind: string;
  readonly informer: AnyInformer;
  synced: boolean;
  retryMs: number;
  retryTimer?: NodeJS.Timeout;
}

export class ClusterWatcher {
  private readonly watched: Watched[];
  private readonly debounceMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly maxDelayMs: number;
  private debounceTimer?: NodeJS.Timeout;
  private maxDelayTimer?: NodeJS.Timeout;
  private closed = false;
  private lastReported?: string;
  private domain: string;

  constructor(private readonly o: ClusterWatcherOptions) {
    this.domain = o.domain;
    this.debounceMs = o.debounceMs ?? 100;
    this.maxDelayMs = o.maxDelayMs ?? 500;
    this.retryMs = o.retryMs ?? 1000;
    this.maxRetryMs = o.maxRetryMs ?? 30_000;
    const watch = (kind: string, path: string, list: () => Promise<unknown>): Watched => ({
      kind,
      informer: makeInformer(
        o.kubeConfig,
        path,
        this.listed(kind, list) as () => Promise<never>,
      ) as unknown as AnyInformer,
      synced: false,
      retryMs: this.retryMs,
    });
    this.watched = [
      watch('Service', '/api/v1/services', () => o.coreApi.listServiceForAllNamespaces()),
      watch('EndpointSlice', '/apis/discovery.k8s.io/v1/endpointslices', () =>
        o.discoveryApi.listEndpointSliceForAllNamespaces(),
      ),
      watch('Pod', '/api/v1/pods', () => o.coreApi.listPodForAllNamespaces()),
      watch('Namespace', '/api/v1/namespaces', () => o.coreApi.listNamespace()),
    ];
    for (const w of this.watched) this.wire(w);
  }

  /** Starts every informer; resolves once each has listed and watches, or failed and will retry. */
  async start(): Promise<void> {
    await Promise.all(this.watched.map((w) => this.startInformer(w)));
  }

  /** The services as the informers' caches hold them now. */
  services(): Service[] {
    const [services, slices, pods] = this.watched.map((w) => w.informer.list());
    return translateCluster(
      {
        services: services as readonly KubeService[],
        endpointSlices: slices as readonly KubeEndpointSlice[],
        pods: pods as readonly KubePod[],
      },
      { domain: this.domain },
    );
  }

  /** A new DNS suffix (the mesh file's domain changed): the services are reported again. */
  setDomain(domain: string): void {
    if (domain === this.domain) return;
    this.domain = domain;
    this.changed();
  }

  /**
   * The labels of a namespace as last seen; undefined before the namespaces were listed or
   * for a namespace not (yet) seen.
   */
  namespaceLabels(name: string): Record<string, string> | undefined {
    const namespaces = this.watched[3];
    if (!namespaces?.synced) return undefined;
    const ns = namespaces.informer.get(name) as KubeNamespace | undefined;
    return ns ? { ...(ns.metadata?.labels ?? {}) } : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounceTimer);
    clearTimeout(this.maxDelayTimer);
    for (const w of this.watched) {
      clearTimeout(w.retryTimer);
      await w.informer.stop();
    }
  }

  private wire(w: Watched): void {
    w.informer.on('change', () => {
      // Events flowing again: the next failure starts the backoff afresh.
      w.retryMs = this.retryMs;
      this.changed();
    });
    w.informer.on('connect', () => {
      this.o.log.debug({ kind: w.kind }, 'kubernetes watch (re)connecting');
    });
    w.informer.on('error', (err: unknown) => {
      if (this.closed) return;
      const delay = w.retryMs;
      w.retryMs = Math.min(w.retryMs * 2, this.maxRetryMs);
      this.o.onWatchError?.(w.kind);
      this.o.log.warn(
        { kind: w.kind, err: describe(err), retryInMs: delay },
        'kubernetes watch failed; listing again after a pause',
      );
      clearTimeout(w.retryTimer);
      w.retryTimer = setTimeout(() => {
        void this.startInformer(w);
      }, delay);
    });
  }

  private async startInformer(w: Watched): Promise<void> {
    if (this.closed) return;
    await w.informer.start();
    // A close() while start() was listing or connecting left a watch behind; end it.
    if (this.closed) await w.informer.stop();
  }

  /** Wraps a list call: a list that succeeded makes its kind synced and resets the backoff. */
  private listed<T>(kind: string, list: () => Promise<T>): () => Promise<T> {
    return async () => {
      const result = await list();
      const w = this.watched.find((x) => x.kind === kind);
      if (w) {
        if (!w.synced) this.o.log.info({ kind }, 'kubernetes listed');
        w.synced = true;
        w.retryMs = this.retryMs;
      }
      // The informer adds the listed objects right after this returns; the debounce timer
      // reports them after that.
      this.changed();
      return result;
    };
  }

  private changed(): void {
    if (this.closed || !this.watched.every((w) => w.synced)) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => this.report(), this.debounceMs);
    // A cluster that never goes quiet (a big rollout) is still reported now and then.
    this.maxDelayTimer ??= setTimeout(() => this.report(), this.maxDelayMs);
  }

  private report(): void {
    clearTimeout(this.debounceTimer);
    clearTimeout(this.maxDelayTimer);
    this.maxDelayTimer = undefined;
    if (this.closed) return;
    const services = this.services();
    // A relist after 410 Gone re-adds every object; only a real difference is a change.
    const fingerprint = JSON.stringify(services);
    if (fingerprint === this.lastReported) return;
    this.lastReported = fingerprint;
    this.o.onChange(services);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { statusCode?: number; code?: number | string }).statusCode;
    return status ? `${err.message} (HTTP ${status})` : err.message;
  }
  return String(err);
}
