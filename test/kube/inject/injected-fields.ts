/**
 * The one list of what injection may change in a pod template, for the corpus test's
 * structural diff: `withoutInjection` takes those fields out of an injected object, so that
 * what is left must equal the input exactly. Anything else injection changed fails the test.
 * (A new injected field, e.g. a probe rewrite, is added here, and nowhere else.)
 */

// biome-ignore lint/suspicious/noExplicitAny: objects of any kind, walked by path.
type Obj = Record<string, any>;

const INJECTED_CONTAINERS = new Set(['ferry-init', 'ferry-proxy']);
const INJECTED_VOLUMES = new Set(['ferry-identity']);
const INJECTED_ANNOTATIONS = ['ferry.io/status', 'ferry.io/ca-root'];
const DEFAULT_CONTAINER = 'kubectl.kubernetes.io/default-container';
/** The app probes the injector moved to the sidecar, as the pod declared them. */
const ORIGINAL_PROBES = 'ferry.io/original-probes';

/** Where each kind keeps its pod template, as a path of keys. */
export const TEMPLATE_PATH: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  DeploymentConfig: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/**
 * Each item of a list with the function applied as to an object of its kind: a typed list's
 * (`DeploymentList`) items leave their kind to the list.
 */
function mapItems(list: Obj, f: (item: Obj, i: number) => Obj): Obj[] {
  const implied = list.kind === 'List' ? undefined : list.kind.slice(0, -'List'.length);
  return list.items.map((item: Obj, i: number) => {
    if (item.kind !== undefined || implied === undefined) return f(item, i);
    const { kind: _, ...rest } = f({ ...item, kind: implied }, i);
    return rest;
  });
}

export function podTemplateOf(obj: Obj): Obj | undefined {
  const path = TEMPLATE_PATH[obj.kind];
  if (path === undefined) return undefined;
  return path.reduce<Obj | undefined>((o, k) => o?.[k], obj);
}

/** Deletes `key` when its value is null, an empty list or an empty map. */
function dropEmpty(o: Obj | undefined, key: string): void {
  const v = o?.[key];
  if (v === null || (Array.isArray(v) && v.length === 0)) delete o?.[key];
  else if (typeof v === 'object' && v !== null && Object.keys(v).length === 0) delete o?.[key];
}

/**
 * Empty fields the injector may have filled (initContainers: null in the input, a list in
 * the output) count as absent on both sides.
 */
export function normalizeTemplate(pod: Obj): void {
  dropEmpty(pod.spec, 'initContainers');
  dropEmpty(pod.spec, 'volumes');
  dropEmpty(pod.metadata, 'annotations');
  dropEmpty(pod, 'metadata');
}

/**
 * A copy of an injected object with the injected fields taken out. `input` is the object
 * before injection: the default-container annotation is injected only where it was absent.
 */
export function withoutInjection(injected: Obj, input: Obj): Obj {
  const copy = structuredClone(injected);
  if (copy.kind?.endsWith('List') && Array.isArray(copy.items)) {
    copy.items = mapItems(copy, (item, i) =>
      withoutInjection(item, { kind: item.kind, ...input.items[i] }),
    );
    return copy;
  }
  const pod = podTemplateOf(copy);
  if (pod === undefined) return copy;
  const spec = pod.spec ?? {};
  spec.initContainers = spec.initContainers?.filter((c: Obj) => !INJECTED_CONTAINERS.has(c.name));
  if (spec.initContainers === undefined) delete spec.initContainers;
  spec.containers = spec.containers.filter((c: Obj) => !INJECTED_CONTAINERS.has(c.name));
  spec.volumes = spec.volumes?.filter((v: Obj) => !INJECTED_VOLUMES.has(v.name));
  if (spec.volumes === undefined) delete spec.volumes;
  const annotations = pod.metadata?.annotations;
  // Rewritten probes: put back from the annotation that keeps the originals, so the
  // comparison also checks that it keeps them exactly.
  const original = annotations?.[ORIGINAL_PROBES];
  if (original !== undefined) {
    const byContainer = JSON.parse(original) as Record<string, Obj>;
    for (const c of spec.containers) Object.assign(c, byContainer[c.name]);
    delete annotations[ORIGINAL_PROBES];
  }
  if (annotations) {
    for (const a of INJECTED_ANNOTATIONS) delete annotations[a];
    if (podTemplateOf(input)?.metadata?.annotations?.[DEFAULT_CONTAINER] === undefined)
      delete annotations[DEFAULT_CONTAINER];
  }
  normalizeTemplate(pod);
  return copy;
}

/** The input with the same normalisation, to compare with `withoutInjection`'s result. */
export function normalized(input: Obj): Obj {
  const copy = structuredClone(input);
  if (copy.kind?.endsWith('List') && Array.isArray(copy.items)) {
    copy.items = mapItems(copy, normalized);
    return copy;
  }
  const pod = podTemplateOf(copy);
  if (pod !== undefined) normalizeTemplate(pod);
  return copy;
}
