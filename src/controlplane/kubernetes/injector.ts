/**
 * The injection webhook as the control plane runs it: HTTPS on 15017 with the control
 * plane's own serving certificate (issued by the mesh CA, naming the Service's DNS names,
 * renewed at half life and swapped in without a restart), the injection template from the
 * flags, native sidecars when the API server's version has them, and, with a webhook
 * configuration named, its caBundle kept equal to the mesh root: written at start and
 * checked again every resync period (a re-applied manifest may have emptied it).
 */
import { AdmissionregistrationV1Api, type KubeConfig, VersionApi } from '@kubernetes/client-node';
import type { IdentityUpdate, ServingCertificate } from '../../identity/index.js';
import {
  injectionTemplate,
  type StringMap,
  supportsNativeSidecars,
  type TemplateOptions,
} from '../../kube/inject/index.js';
import {
  createInjectionWebhook,
  type InjectionWebhook,
  type ReviewOutcome,
} from '../../kube/webhook/index.js';
import type { Logger } from '../../log/index.js';
import { describeApiError } from './kube-error.js';
import { patchWebhookCaBundle } from './webhook-ca-bundle.js';

export interface InjectorOptions {
  readonly port: number;
  readonly host: string;
  readonly serving: ServingCertificate;
  /** The mesh root(s), PEM: the caBundle the API server is to trust. */
  readonly caBundle: string;
  /** The sidecar's image, log level, capture mode, xDS address (nativeSidecar is detected). */
  readonly template: Omit<TemplateOptions, 'nativeSidecar'>;
  /** The API server: for its version and for the webhook configuration. */
  readonly kubeConfig?: KubeConfig;
  /** The MutatingWebhookConfiguration whose caBundle is kept; needs kubeConfig. */
  readonly webhookConfig?: string;
  /** How often the caBundle is checked again. Default 60 s. */
  readonly resyncMs?: number;
  readonly namespaceLabels?: (namespace: string) => StringMap | undefined;
  readonly onReview?: (outcome: ReviewOutcome) => void;
  /** Told of each failed caBundle check after the first (which fails the start). */
  readonly onCaBundleFailure?: () => void;
  /** Told of each caBundle check that found it current (or made it so). */
  readonly onCaBundleCurrent?: () => void;
  readonly log: Logger;
}

export interface Injector {
  readonly port: number;
  close(): Promise<void>;
}

export async function startInjector(o: InjectorOptions): Promise<Injector> {
  const nativeSidecar = o.kubeConfig ? await detectNativeSidecars(o.kubeConfig, o.log) : true;
  const template = injectionTemplate({ ...o.template, nativeSidecar });
  const current = o.serving.current;
  if (!current) throw new Error('the serving certificate is not issued yet');
  const namespaceLabels = o.namespaceLabels;
  const webhook: InjectionWebhook = await createInjectionWebhook({
    key: current.privateKey,
    cert: current.certificate,
    template,
    port: o.port,
    host: o.host,
    namespaceLabels: namespaceLabels ? async (ns) => namespaceLabels(ns) : undefined,
    onReview: o.onReview,
    log: o.log.child({ component: 'injector' }),
  });
  const renewed = (update: IdentityUpdate | null) => {
    if (update) webhook.setCertificate(update.privateKey, update.certificate);
  };
  o.serving.addIdentityCertificateListener(renewed);
  let resync: NodeJS.Timeout | undefined;
  try {
    if (o.webhookConfig) {
      if (!o.kubeConfig) throw new Error('a webhook configuration needs the API server');
      const api = o.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
      const keep = () =>
        patchWebhookCaBundle({
          api,
          name: o.webhookConfig ?? '',
          caBundle: o.caBundle,
          log: o.log,
        }).then(() => o.onCaBundleCurrent?.());
      await keep();
      resync = setInterval(() => {
        keep().catch((err: Error) => {
          o.onCaBundleFailure?.();
          o.log.warn({ err: err.message }, 'webhook CA bundle check failed; trying again later');
        });
      }, o.resyncMs ?? 60_000);
      resync.unref();
    }
  } catch (err) {
    o.serving.removeIdentityCertificateListener(renewed);
    await webhook.close();
    throw err;
  }
  o.log.info(
    { port: webhook.port, nativeSidecar, webhookConfig: o.webhookConfig },
    'injection webhook listening',
  );
  return {
    port: webhook.port,
    async close() {
      clearInterval(resync);
      o.serving.removeIdentityCertificateListener(renewed);
      await webhook.close();
    },
  };
}

/** Native sidecars from Kubernetes 1.29; an API server that does not say is taken as older. */
async function detectNativeSidecars(kubeConfig: KubeConfig, log: Logger): Promise<boolean> {
  try {
    const version = await kubeConfig.makeApiClient(VersionApi).getCode();
    return supportsNativeSidecars(version.gitVersion);
  } catch (err) {
    log.warn(
      { err: describeApiError(err) },
      'cannot read the API server version; injecting classic sidecars (they work on every version)',
    );
    return false;
  }
}
