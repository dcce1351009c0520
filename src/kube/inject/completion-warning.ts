/**
 * A classic sidecar (a plain container, before Kubernetes 1.29's native sidecars) keeps a
 * pod that should run to completion running: a Job's pod ends only when every container has
 * exited, and the proxy does not exit by itself. The app has to end it through the proxy's
 * admin endpoint, as with Istio (https://istio.io/latest/docs/ops/common-problems/injection/).
 * Native sidecars are stopped by the kubelet once the app is done (KEP-753).
 */
import type { InjectionTemplate } from './injection-template.js';
import type { PodTemplate } from './kube-types.js';

const RUN_TO_COMPLETION_KINDS: ReadonlySet<string> = new Set(['Job', 'CronJob']);

/**
 * Whether a pod runs to completion: it belongs to a Job (its kind in a manifest, its owner
 * in the API server), or its restartPolicy lets it end.
 */
export function runsToCompletion(pod: PodTemplate, kind: string | undefined): boolean {
  if (kind !== undefined && RUN_TO_COMPLETION_KINDS.has(kind)) return true;
  const owners = (pod.metadata as { ownerReferences?: unknown } | undefined)?.ownerReferences;
  if (Array.isArray(owners) && owners.some((o) => (o as { kind?: unknown })?.kind === 'Job')) {
    return true;
  }
  const policy = pod.spec.restartPolicy;
  return policy === 'Never' || policy === 'OnFailure';
}

/** The warning for an injected pod, or undefined when there is nothing to warn about. */
export function completionWarning(
  pod: PodTemplate,
  kind: string | undefined,
  t: InjectionTemplate,
): string | undefined {
  if (t.nativeSidecar || !runsToCompletion(pod, kind)) return undefined;
  return (
    `classic sidecar in a pod that runs to completion: it ends only when the app calls ` +
    `POST http://127.0.0.1:${t.ports.admin}/quitquitquit as it exits ` +
    `(Kubernetes 1.29 and later get native sidecars, which need no call)`
  );
}
