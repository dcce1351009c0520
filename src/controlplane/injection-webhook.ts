/**
 * The injection webhook (HTTPS, served with the control plane's certificate from the mesh
 * CA): what injected pods get, and the MutatingWebhookConfiguration's caBundle kept equal
 * to the mesh root, with the last check's result for `ferry check`.
 */
import { DEFAULT_FERRY_NAMESPACE } from '../identity/index.js';
import type { ClusterWatcher } from '../kube/discovery/index.js';
import type { Logger } from '../log/index.js';
import type { MetricsRegistry } from '../metrics/index.js';
import type { ControlPlaneIdentity } from './control-plane-identity.js';
import {
  type ControlPlaneOptions,
  DEFAULT_SERVICE_NAME,
  type WebhookOptions,
} from './control-plane-options.js';
import { type Injector, startInjector } from './kubernetes/index.js';
import { assertPortFree } from './port-probe.js';

/** The webhook as `ferry check` sees it. */
export interface WebhookCheck {
  readonly port: number;
  /** The MutatingWebhookConfiguration whose caBundle is kept; null when none is named. */
  readonly config: string | null;
  /** Whether the last check found (or made) it equal to the mesh root; null before one. */
  readonly caBundleCurrent: boolean | null;
  readonly checkedAt: string | null;
}

/** The caBundle's last check: updated by the injector's callbacks, read by check(). */
interface BundleState {
  current?: boolean;
  checkedAt?: Date;
}

export class InjectionWebhook {
  private constructor(
    private readonly injector: Injector,
    private readonly config: string | undefined,
    private readonly bundle: BundleState,
  ) {}

  static async start(
    host: string,
    webhook: WebhookOptions,
    identity: ControlPlaneIdentity,
    options: Pick<ControlPlaneOptions, 'namespace' | 'serviceName' | 'kubernetes'>,
    discovery: ClusterWatcher | undefined,
    metrics: MetricsRegistry,
    log: Logger,
  ): Promise<InjectionWebhook> {
    if (webhook.port !== 0) await assertPortFree('webhook (HTTPS)', host, webhook.port);
    const namespace = options.namespace ?? DEFAULT_FERRY_NAMESPACE;
    const service = options.serviceName ?? DEFAULT_SERVICE_NAME;
    const reviews = metrics.counter(
      'ferry_injection_reviews_total',
      'AdmissionReviews the injection webhook answered, by result (injected, skipped, refused, malformed).',
      ['result'],
    );
    const bundleFailures = metrics
      .counter(
        'ferry_webhook_ca_bundle_failures_total',
        'Checks of the webhook configuration’s caBundle that failed (retried a minute later).',
      )
      .labels();
    const bundle: BundleState = {};
    const checked = (current: boolean) => {
      bundle.current = current;
      bundle.checkedAt = new Date();
    };
    const injector = await startInjector({
      port: webhook.port,
      host,
      serving: identity.serving,
      caBundle: identity.ca.roots.join(''),
      template: {
        xdsAddress: `${service}.${namespace}.svc:15012`,
        // Service-account tokens are what this control plane accepts (TokenReview): injected
        // sidecars get one, and the root to trust the secure port with.
        ...(options.kubernetes?.tokenReview
          ? {
              identity: {
                rootPem: identity.ca.roots.join(''),
                trustDomain: identity.ca.trustDomain,
                tokenAudience: options.kubernetes.tokenAudiences?.[0],
                controlPlaneNamespace: namespace,
              },
            }
          : {}),
        ...webhook.template,
      },
      kubeConfig: options.kubernetes?.kubeConfig,
      webhookConfig: webhook.config,
      resyncMs: webhook.resyncMs,
      namespaceLabels: discovery ? (ns) => discovery.namespaceLabels(ns) : undefined,
      onReview: (result) => reviews.labels(result).inc(),
      onCaBundleFailure: () => {
        bundleFailures.inc();
        checked(false);
      },
      onCaBundleCurrent: () => checked(true),
      log,
    });
    return new InjectionWebhook(injector, webhook.config, bundle);
  }

  get port(): number {
    return this.injector.port;
  }

  check(): WebhookCheck {
    return {
      port: this.injector.port,
      config: this.config ?? null,
      caBundleCurrent: this.bundle.current ?? null,
      checkedAt: this.bundle.checkedAt?.toISOString() ?? null,
    };
  }

  close(): Promise<void> {
    return this.injector.close();
  }
}
