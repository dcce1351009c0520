/**
 * Keeps the injector's MutatingWebhookConfiguration trusting the control plane: writes the
 * mesh root (which signs the webhook's serving certificate) into clientConfig.caBundle of
 * each of its webhooks, as istiod manages its injector's caBundle. Only the one
 * configuration named is touched, with a JSON Patch guarded by a `test` of the
 * resourceVersion read, so a concurrent edit (another replica, `helm upgrade`) makes the
 * patch fail instead of overwriting it; it is then read and patched again.
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#contacting-the-webhook
 */
import type {
  AdmissionregistrationV1Api,
  V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { Logger } from '../../log/index.js';
import { describeApiError, httpStatus, KubeError } from './kube-error.js';

export interface WebhookCaBundleOptions {
  readonly api: AdmissionregistrationV1Api;
  /** The MutatingWebhookConfiguration's name (cluster-scoped). */
  readonly name: string;
  /** PEM certificates the API server is to trust. */
  readonly caBundle: string;
  readonly log: Logger;
}

const MAX_ROUNDS = 5;

/** Resolves with how many webhooks were changed (0: all already trusted the bundle). */
export async function patchWebhookCaBundle(o: WebhookCaBundleOptions): Promise<number> {
  const where = `MutatingWebhookConfiguration ${o.name}`;
  const bundle = Buffer.from(o.caBundle).toString('base64');
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let config: V1MutatingWebhookConfiguration;
    try {
      config = await o.api.readMutatingWebhookConfiguration({ name: o.name });
    } catch (err) {
      throw new KubeError(
        'FERRY_WEBHOOK_CONFIG',
        `cannot read ${where}: ${describeApiError(err)}${httpStatus(err) === 404 ? ' (is the chart installed with webhook.enabled?)' : ''}`,
      );
    }
    const webhooks = config.webhooks ?? [];
    if (webhooks.length === 0)
      throw new KubeError('FERRY_WEBHOOK_CONFIG', `${where} has no webhooks to give the CA bundle`);
    const patch: object[] = [
      { op: 'test', path: '/metadata/resourceVersion', value: config.metadata?.resourceVersion },
    ];
    webhooks.forEach((w, i) => {
      // caBundle is bytes: base64 in JSON. add replaces a member that is there.
      if (w.clientConfig?.caBundle !== bundle)
        patch.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle });
    });
    const changed = patch.length - 1;
    if (changed === 0) {
      o.log.debug({ webhookConfig: o.name }, 'webhook CA bundle already up to date');
      return 0;
    }
    try {
      await o.api.patchMutatingWebhookConfiguration({ name: o.name, body: patch });
      o.log.info({ webhookConfig: o.name, webhooks: changed }, 'webhook CA bundle written');
      return changed;
    } catch (err) {
      // 409 / 422: the test failed, the configuration changed since it was read.
      const status = httpStatus(err);
      if (status !== 409 && status !== 422)
        throw new KubeError(
          'FERRY_WEBHOOK_CONFIG',
          `cannot patch ${where}: ${describeApiError(err)}`,
        );
    }
  }
  throw new KubeError(
    'FERRY_WEBHOOK_CONFIG',
    `${where} kept changing while its CA bundle was written (${MAX_ROUNDS} attempts)`,
  );
}
