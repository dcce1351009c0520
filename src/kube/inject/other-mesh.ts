/**
 * Pods that belong to another mesh. Injecting beside Istio's or Linkerd's proxy would put two
 * proxies on the same ports (15000, 15001, 15006, 15020, 15021) and two sets of capture
 * rules in one network namespace; and a pod that opted out of those meshes' injection is
 * opting out of sidecars, so Ferry honours it too (and says so).
 */
import type { PodTemplate } from './kube-types.js';

/**
 * Containers only another mesh's injector adds. `istio-proxy` also stands for Istio's
 * custom-injection stub (a container of that name the injector fills in), and an
 * `istio-proxy` among the init containers is Istio's native sidecar.
 * https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#customizing-injection
 * https://linkerd.io/2/reference/proxy-configuration/
 */
const OTHER_MESH_CONTAINERS: ReadonlyMap<string, string> = new Map([
  ['istio-proxy', 'Istio'],
  ['istio-init', 'Istio'],
  ['istio-validation', 'Istio'],
  ['linkerd-proxy', 'Linkerd'],
  ['linkerd-init', 'Linkerd'],
  ['linkerd-network-validator', 'Linkerd'],
]);

/** Annotations those injectors write on a pod they injected. */
const OTHER_MESH_STATUS: ReadonlyMap<string, string> = new Map([
  ['sidecar.istio.io/status', 'Istio'],
  ['linkerd.io/proxy-version', 'Linkerd'],
]);

/** The opt-outs of the other meshes' injectors: annotation or label, and the value. */
const OTHER_MESH_OPT_OUTS: readonly { readonly key: string; readonly value: string }[] = [
  // Istio reads the label and (deprecated) the annotation, "false" turning injection off.
  { key: 'sidecar.istio.io/inject', value: 'false' },
  // Linkerd: the annotation, "disabled".
  { key: 'linkerd.io/inject', value: 'disabled' },
];

/** Why the pod already belongs to another mesh, or undefined. */
export function otherMeshSidecar(pod: PodTemplate): string | undefined {
  for (const [list, containers] of [
    ['initContainers', pod.spec.initContainers ?? []],
    ['containers', pod.spec.containers],
  ] as const) {
    for (const c of containers) {
      const mesh = OTHER_MESH_CONTAINERS.get(c.name);
      if (mesh) return `it has ${mesh}'s sidecar (${list} ${c.name})`;
    }
  }
  const annotations = pod.metadata?.annotations ?? {};
  for (const [key, mesh] of OTHER_MESH_STATUS) {
    if (annotations[key] !== undefined) return `${mesh} injected it (annotation ${key})`;
  }
  return undefined;
}

/** The other mesh's opt-out the pod carries, described, or undefined. */
export function otherMeshOptOut(pod: PodTemplate): string | undefined {
  const annotations = pod.metadata?.annotations ?? {};
  const labels = pod.metadata?.labels ?? {};
  for (const { key, value } of OTHER_MESH_OPT_OUTS) {
    if (annotations[key] === value) return `annotation ${key} is "${value}"`;
    if (labels[key] === value) return `label ${key} is "${value}"`;
  }
  return undefined;
}
