/**
 * Whether a pod gets a sidecar. Webhook: opt-in by namespace label or pod annotation, as
 * Istio (https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy).
 * Offline (`ferry inject`): every workload unless it opts out, as `istioctl kube-inject`.
 * Both: never twice, never a hostNetwork pod (its rules would capture the node's traffic).
 */
import { ANNOTATIONS, NAMESPACE_LABEL } from './annotations.js';
import type { PodTemplate, StringMap } from './kube-types.js';
import { INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME } from './sidecar-containers.js';

export type InjectionMode = 'webhook' | 'offline';

export interface InjectionScope {
  readonly mode: InjectionMode;
  /**
   * The labels of the pod's namespace, when known. A webhook that does not know them
   * trusts its MutatingWebhookConfiguration's namespaceSelector to have sent only pods of
   * opted-in namespaces (see examples/kubernetes/webhook.yaml).
   */
  readonly namespaceLabels?: StringMap;
}

export type InjectionDecision =
  | { readonly inject: true }
  | { readonly inject: false; readonly reason: string };

const SKIP = (reason: string): InjectionDecision => ({ inject: false, reason });

/** The pod's own opt-in or opt-out: annotation first, then the label of the same name. */
function podChoice(pod: PodTemplate): string | undefined {
  return (
    pod.metadata?.annotations?.[ANNOTATIONS.inject] ?? pod.metadata?.labels?.[ANNOTATIONS.inject]
  );
}

export function alreadyInjected(pod: PodTemplate): boolean {
  if (pod.metadata?.annotations?.[ANNOTATIONS.status] !== undefined) return true;
  const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
  return names.includes(PROXY_CONTAINER_NAME) || names.includes(INIT_CONTAINER_NAME);
}

export function injectionDecision(pod: PodTemplate, scope: InjectionScope): InjectionDecision {
  if (alreadyInjected(pod)) return SKIP('already injected');
  if (pod.spec.hostNetwork === true) return SKIP('hostNetwork pod');
  const choice = podChoice(pod);
  if (choice === 'false') return SKIP(`${ANNOTATIONS.inject} is "false"`);
  if (scope.mode === 'offline') return { inject: true };
  const nsLabel = scope.namespaceLabels?.[NAMESPACE_LABEL];
  if (nsLabel === 'disabled') return SKIP(`namespace label ${NAMESPACE_LABEL} is "disabled"`);
  if (choice === 'true') return { inject: true };
  if (scope.namespaceLabels === undefined || nsLabel === 'enabled') return { inject: true };
  return SKIP(
    `neither namespace label ${NAMESPACE_LABEL}=enabled nor ${ANNOTATIONS.inject}: "true"`,
  );
}
