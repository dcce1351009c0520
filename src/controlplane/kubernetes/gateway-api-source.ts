/**
 * The cluster's Gateway API resources as a source of the registry, and the writer of their
 * status. Each kind is watched with an informer over the custom objects API
 * (`gateway.networking.k8s.io`: GatewayClass, Gateway, HTTPRoute, GRPCRoute at v1, TLSRoute
 * and TCPRoute at v1alpha2, ReferenceGrant at v1beta1). A kind whose CRD is not installed
 * (404) counts as empty and is listed again now and then, so a cluster with only the
 * standard channel works. Objects are validated as the mesh file's are; one that fails is
 * left out and told so in its status. After every published configuration the statuses the
 * Gateway API asks for (gateway-status.ts) are written, only where they changed, with a JSON
 * Patch of `/status` on the status subresource.
 */
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type ListWatch,
  makeInformer,
} from '@kubernetes/client-node';
import {
  GATEWAY_GROUP,
  type GatewayApiConfig,
  type GatewayApiIssue,
  type GatewayApiState,
  normalizeResources,
} from '../../gatewayapi/index.js';
import type { Logger } from '../../log/index.js';
import type { MeshConfig } from '../../mesh/index.js';
import { gatewayApiState } from '../translate/index.js';
import { type GatewayApiObject, statusUpdates } from './gateway-status.js';
import { describeApiError, httpStatus } from './kube-error.js';

interface KindInfo {
  readonly kind: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export const GATEWAY_API_KINDS: readonly KindInfo[] = [
  { kind: 'GatewayClass', version: 'v1', plural: 'gatewayclasses', namespaced: false },
  { kind: 'Gateway', version: 'v1', plural: 'gateways', namespaced: true },
  { kind: 'HTTPRoute', version: 'v1', plural: 'httproutes', namespaced: true },
  { kind: 'GRPCRoute', version: 'v1', plural: 'grpcroutes', namespaced: true },
  { kind: 'TLSRoute', version: 'v1alpha2', plural: 'tlsroutes', namespaced: true },
  { kind: 'TCPRoute', version: 'v1alpha2', plural: 'tcproutes', namespaced: true },
  { kind: 'ReferenceGrant', version: 'v1beta1', plural: 'referencegrants', namespaced: true },
];

export interface GatewayApiSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly log: Logger;
  /** The cluster's valid resources, after every change (debounced). */
  readonly onConfig: (config: GatewayApiConfig) => void;
  /** Quiet period before reporting a change. Default 100 ms. */
  readonly debounceMs?: number;
  /** Delay before a failed list or watch is tried again. Default 1 s, doubling to 30 s. */
  readonly retryMs?: number;
}

interface Watched {
  readonly info: KindInfo;
  readonly informer: ListWatch<KubernetesObject>;
  synced: boolean;
  retryMs: number;
  retryTimer?: NodeJS.Timeout;
}

type Invalid = Map<GatewayApiObject, string>;

export class GatewayApiSource {
  private readonly watched: Watched[];
  private readonly api: CustomObjectsApi;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private lastReported = '';
  private invalid: Invalid = new Map();
  private writing: Promise<void> = Promise.resolve();
  private pendingState: GatewayApiState | undefined;
  /** Status writes that failed (for a count), besides the warning logged. */
  failedWrites = 0;

  constructor(private readonly o: GatewayApiSourceOptions) {
    this.api = o.kubeConfig.makeApiClient(CustomObjectsApi);
    const retryMs = o.retryMs ?? 1000;
    this.watched = GATEWAY_API_KINDS.map((info) => {
      const w: Watched = {
        info,
        synced: false,
        retryMs,
        informer: makeInformer(
          o.kubeConfig,
          `/apis/${GATEWAY_GROUP}/${info.version}/${info.plural}`,
          (() => this.list(w)) as () => Promise<never>,
        ) as unknown as ListWatch<KubernetesObject>,
      };
      return w;
    });
    for (const w of this.watched) {
      w.informer.on('change', () => this.changed());
      w.informer.on('error', (err: unknown) => this.failed(w, err));
    }
  }

  async start(): Promise<void> {
    await Promise.all(this.watched.map((w) => this.startInformer(w)));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watched) {
      clearTimeout(w.retryTimer);
      await w.informer.stop();
    }
    await this.writing;
  }

  /** Every object as the informers hold it, with the kind and version it was listed as. */
  objects(): GatewayApiObject[] {
    return this.watched.flatMap((w) =>
      w.informer.list().map(
        (o): GatewayApiObject => ({
          ...o,
          kind: w.info.kind,
          apiVersion: `${GATEWAY_GROUP}/${w.info.version}`,
        }),
      ),
    );
  }

  /**
   * Writes the statuses `state` asks for that the objects do not carry yet. Writes are
   * serialized; a state given while one is in flight replaces any other waiting.
   */
  writeStatus(state: GatewayApiState): Promise<void> {
    const idle = this.pendingState === undefined;
    this.pendingState = state;
    if (idle) {
      this.writing = this.writing.then(async () => {
        const next = this.pendingState;
        this.pendingState = undefined;
        if (next && !this.closed) await this.write(next);
      });
    }
    return this.writing;
  }

  private async write(state: GatewayApiState): Promise<void> {
    const updates = statusUpdates({
      state,
      objects: this.objects(),
      invalid: this.invalid,
      now: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    for (const { object, status } of updates) {
      const info = GATEWAY_API_KINDS.find((k) => k.kind === object.kind);
      const name = object.metadata?.name ?? '';
      const namespace = object.metadata?.namespace ?? '';
      if (!info || this.closed) continue;
      const body = [{ op: 'add', path: '/status', value: status }];
      const common = {
        group: GATEWAY_GROUP,
        version: info.version,
        plural: info.plural,
        name,
        body,
      };
      try {
        if (info.namespaced)
          await this.api.patchNamespacedCustomObjectStatus({ ...common, namespace });
        else await this.api.patchClusterCustomObjectStatus(common);
      } catch (err) {
        this.failedWrites++;
        this.o.log.warn(
          { kind: info.kind, name: `${namespace}/${name}`, err: describeApiError(err) },
          'gateway API status not written',
        );
      }
    }
  }

  private async list(w: Watched): Promise<unknown> {
    const { version, plural, kind } = w.info;
    try {
      const result = await this.api.listClusterCustomObject({
        group: GATEWAY_GROUP,
        version,
        plural,
      });
      if (!w.synced) this.o.log.info({ kind }, 'kubernetes listed');
      w.synced = true;
      this.changed();
      return result;
    } catch (err) {
      if (httpStatus(err) === 404) {
        // The CRD is not installed: nothing of this kind exists; the others go on.
        if (!w.synced) this.o.log.info({ kind }, 'gateway API kind not installed in the cluster');
        w.synced = true;
        this.changed();
      }
      throw err;
    }
  }

  private failed(w: Watched, err: unknown): void {
    if (this.closed) return;
    const delay = w.retryMs;
    w.retryMs = Math.min(w.retryMs * 2, 30_000);
    if (httpStatus(err) !== 404) {
      this.o.log.warn(
        { kind: w.info.kind, err: describeApiError(err), retryInMs: delay },
        'kubernetes watch failed; listing again after a pause',
      );
    }
    clearTimeout(w.retryTimer);
    w.retryTimer = setTimeout(() => void this.startInformer(w), delay);
  }

  private async startInformer(w: Watched): Promise<void> {
    if (this.closed) return;
    try {
      await w.informer.start();
    } catch {
      // Reported through the informer's error event.
    }
    if (this.closed) await w.informer.stop();
  }

  private changed(): void {
    if (this.closed || !this.watched.every((w) => w.synced)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.report(), this.o.debounceMs ?? 100);
  }

  private report(): void {
    if (this.closed) return;
    const { config, invalid } = validate(this.objects());
    this.invalid = invalid;
    const fingerprint = JSON.stringify(config);
    if (fingerprint === this.lastReported) return;
    this.lastReported = fingerprint;
    for (const [o, why] of invalid) {
      this.o.log.warn(
        { kind: o.kind, name: `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`, why },
        'gateway API object refused',
      );
    }
    this.o.onConfig(config);
  }
}

/** The valid objects as a config; each invalid one with its first problems. */
export function validate(objects: readonly GatewayApiObject[]): {
  config: GatewayApiConfig;
  invalid: Invalid;
} {
  const invalid: Invalid = new Map();
  const valid: GatewayApiObject[] = [];
  for (const o of objects) {
    const { issues } = normalizeResources([o], []);
    if (issues.length === 0) valid.push(o);
    else invalid.set(o, describeIssues(issues));
  }
  return { config: normalizeResources(valid, []).config, invalid };
}

function describeIssues(issues: readonly GatewayApiIssue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.slice(1).join('.')}: ${i.message}`)
    .join('; ');
}

export interface GatewayApiWiring {
  readonly kubeConfig: KubeConfig;
  readonly log: Logger;
  readonly retryMs?: number;
  /** Where the cluster's resources go (the registry). */
  readonly onConfig: (config: GatewayApiConfig) => void;
  /** Subscribes to published configurations (the snapshot cache's onPublish). */
  readonly onPublish: (fn: () => void) => void;
  /** The configuration just published (the snapshot cache's config). */
  readonly currentConfig: () => MeshConfig;
  /** A namespace's labels, for allowedRoutes namespaces `Selector`. */
  readonly namespaceLabels: (namespace: string) => Readonly<Record<string, string>>;
}

/**
 * Watches the cluster's Gateway API resources into the registry and writes their status
 * after every published configuration (in Kubernetes only GatewayClasses naming Ferry's
 * controller make Gateways Ferry's). Not awaited: the mesh is served meanwhile.
 */
export function startGatewayApi(o: GatewayApiWiring): GatewayApiSource {
  const source = new GatewayApiSource({
    kubeConfig: o.kubeConfig,
    log: o.log,
    retryMs: o.retryMs,
    onConfig: o.onConfig,
  });
  o.onPublish(() => {
    const state = gatewayApiState(o.currentConfig(), undefined, {
      declaredClassesOnly: true,
      namespaceLabels: o.namespaceLabels,
    });
    void source.writeStatus(state);
  });
  void source.start();
  return source;
}
