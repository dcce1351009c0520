/**
 * Pod (or pod template) → the JSON patch that injects it: what the webhook returns to the
 * API server, and what `ferry inject` applies at a workload's template path. Pure.
 */

import { APP_PROBES_ENV } from '../../proxy/prober/index.js';
import { ANNOTATIONS, readOverrides } from './annotations.js';
import { CA_ROOT_ANNOTATION, identityVolume } from './identity-volume.js';
import type { InjectionTemplate } from './injection-template.js';
import { type AddOperation, escapePointerToken, type JsonPatch } from './json-patch.js';
import type { Container, PodTemplate } from './kube-types.js';
import { ORIGINAL_PROBES_ANNOTATION, type ProbeRewrite, rewriteProbes } from './probe-rewrite.js';
import {
  INIT_CONTAINER_NAME,
  initContainer,
  PROXY_CONTAINER_NAME,
  proxyContainer,
} from './sidecar-containers.js';

/** kubectl logs/exec pick this container by default, the app rather than the sidecar. */
const DEFAULT_CONTAINER = 'kubectl.kubernetes.io/default-container';

export interface PatchContext {
  /** JSON pointer of the pod template in the object: '' for a Pod, '/spec/template' ... */
  readonly at: string;
  /** The workload's name, the service name when the pod has no app label. */
  readonly workloadName?: string;
}

/** The operations that inject `pod`; the caller has decided that it should be injected. */
export function podPatch(pod: PodTemplate, t: InjectionTemplate, ctx: PatchContext): JsonPatch {
  const overrides = readOverrides(pod.metadata?.annotations ?? {});
  const where = ctx.workloadName ?? pod.metadata?.name ?? pod.metadata?.generateName ?? 'pod';
  const probes = rewriteProbes(pod, t.ports.metrics, where);
  const proxy = withAppProbes(proxyContainer(pod, t, overrides, ctx.workloadName), probes);
  const init = t.capture === 'init' ? [initContainer(t, overrides)] : [];
  // ferry-init runs first, so every later container (the native sidecar included) starts
  // with the capture in place; the native sidecar next, so the app's own init containers
  // already have a proxy.
  const initAdds = [...init, ...(t.nativeSidecar ? [proxy] : [])];
  const spec = `${ctx.at}/spec`;
  // First, while the app containers still have their own indices (a classic sidecar is
  // inserted at 0 below); `add` of an existing member replaces it (RFC 6902 §4.1).
  const ops: AddOperation[] = (probes?.probes ?? []).map((p) => ({
    op: 'add',
    path: `${spec}/containers/${p.container}/${p.kind}`,
    value: p.probe,
  }));
  // `== null`: YAML and JSON may carry an empty field as null, which an add cannot extend.
  if (pod.spec.initContainers == null) {
    if (initAdds.length) ops.push({ op: 'add', path: `${spec}/initContainers`, value: initAdds });
  } else {
    initAdds.forEach((c, i) => {
      ops.push({ op: 'add', path: `${spec}/initContainers/${i}`, value: c });
    });
  }
  // Classic: first in the list, so its postStart hook holds the app until it is ready.
  if (!t.nativeSidecar) ops.push({ op: 'add', path: `${spec}/containers/0`, value: proxy });
  if (t.identity) {
    const volume = identityVolume(t.identity);
    if (pod.spec.volumes == null) ops.push({ op: 'add', path: `${spec}/volumes`, value: [volume] });
    else ops.push({ op: 'add', path: `${spec}/volumes/-`, value: volume });
  }

  const status = JSON.stringify({
    version: 1,
    initContainers: initAdds.map((c) => c.name),
    containers: t.nativeSidecar ? [] : [PROXY_CONTAINER_NAME],
    capture: t.capture === 'init' ? INIT_CONTAINER_NAME : 'cni',
  });
  const added: Record<string, string> = { [ANNOTATIONS.status]: status };
  if (t.identity) added[CA_ROOT_ANNOTATION] = t.identity.rootPem;
  if (probes) added[ORIGINAL_PROBES_ANNOTATION] = probes.original;
  const annotations = pod.metadata?.annotations;
  const app = pod.spec.containers[0]?.name;
  if (app !== undefined && annotations?.[DEFAULT_CONTAINER] === undefined) {
    added[DEFAULT_CONTAINER] = app;
  }
  const meta = `${ctx.at}/metadata`;
  if (pod.metadata == null) {
    ops.push({ op: 'add', path: meta, value: { annotations: added } });
  } else if (annotations == null) {
    ops.push({ op: 'add', path: `${meta}/annotations`, value: added });
  } else {
    for (const [k, v] of Object.entries(added)) {
      ops.push({ op: 'add', path: `${meta}/annotations/${escapePointerToken(k)}`, value: v });
    }
  }
  return ops;
}

/** The sidecar with the probes it runs for the app in its environment. */
function withAppProbes(proxy: Container, probes: ProbeRewrite | undefined): Container {
  if (!probes) return proxy;
  const env = (proxy.env as readonly unknown[] | undefined) ?? [];
  return {
    ...proxy,
    env: [...env, { name: APP_PROBES_ENV, value: JSON.stringify(probes.appProbes) }],
  };
}
