/**
 * Whether a pod gets a sidecar. Webhook: opt-in by namespace label or pod label/annotation,
 * as Istio (https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy).
 * Offline (`ferry inject`): every workload unless it opts out, as `istioctl kube-inject`.
 * Both: never twice, never a gateway's pod, never a pod of another mesh, never in the cluster's own namespaces,
 * never a hostNetwork pod (its rules would capture the node's traffic).
 */
import { ANNOTATIONS, NAMESPACE_LABEL } from './annotations.js';
import type { PodTemplate, StringMap } from './kube-types.js';
import { otherMeshOptOut, otherMeshSidecar } from './other-mesh.js';
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
  /** The pod's namespace, when known (a manifest may leave it to kubectl's context). */
  readonly namespace?: string;
}

/**
 * How loudly a pod left alone is reported. quiet: what the user asked for (opted out, not
 * a target); warn: left alone for a reason the user may not expect (another mesh's opt-out);
 * other-mesh: the pod has another mesh's sidecar, which `ferry inject` refuses outright.
 */
export type SkipNotice = 'quiet' | 'warn' | 'other-mesh';

export type InjectionDecision =
  | { readonly inject: true }
  | { readonly inject: false; readonly reason: string; readonly notice: SkipNotice };

const SKIP = (reason: string, notice: SkipNotice = 'quiet'): InjectionDecision => ({
  inject: false,
  reason,
  notice,
});

/**
 * The cluster's own namespaces, which the webhook configuration excludes (and the webhook
 * itself skips, should a configuration not exclude them), as Istio's injector does.
 */
export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set([
  'kube-system',
  'kube-public',
  'kube-node-lease',
]);

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

/** A Ferry gateway's pod: the label (or annotation) the gateway's Deployment puts on it. */
export function isGatewayPod(pod: PodTemplate): boolean {
  const m = pod.metadata;
  return (
    m?.labels?.[ANNOTATIONS.gateway] !== undefined ||
    m?.annotations?.[ANNOTATIONS.gateway] !== undefined
  );
}

export function injectionDecision(pod: PodTemplate, scope: InjectionScope): InjectionDecision {
  if (alreadyInjected(pod)) return SKIP('already injected');
  // Before any opt-in: a gateway is the mesh's proxy at its edge, a sidecar would proxy it twice.
  if (isGatewayPod(pod)) return SKIP(`a Ferry gateway (${ANNOTATIONS.gateway})`);
  const otherMesh = otherMeshSidecar(pod);
  if (otherMesh !== undefined) return SKIP(`another mesh: ${otherMesh}`, 'other-mesh');
  if (scope.namespace !== undefined && SYSTEM_NAMESPACES.has(scope.namespace)) {
    return SKIP(`namespace ${scope.namespace} is the cluster's own`);
  }
  if (pod.spec.hostNetwork === true) return SKIP('hostNetwork pod');
  const choice = podChoice(pod);
  if (choice === 'false') return SKIP(`${ANNOTATIONS.inject} is "false"`);
  // Opting out of another mesh's sidecar opts out of Ferry's, unless the pod asks for
  // Ferry's by name (the way off Istio: its injection off, Ferry's on).
  const optOut = choice === 'true' ? undefined : otherMeshOptOut(pod);
  if (optOut !== undefined) {
    return SKIP(`${optOut}; set ${ANNOTATIONS.inject}: "true" to inject Ferry's`, 'warn');
  }
  if (scope.mode === 'offline') return { inject: true };
  const nsLabel = scope.namespaceLabels?.[NAMESPACE_LABEL];
  if (nsLabel === 'disabled') return SKIP(`namespace label ${NAMESPACE_LABEL} is "disabled"`);
  if (choice === 'true') return { inject: true };
  if (scope.namespaceLabels === undefined || nsLabel === 'enabled') return { inject: true };
  return SKIP(
    `neither namespace label ${NAMESPACE_LABEL}=enabled nor ${ANNOTATIONS.inject}: "true"`,
  );
}
