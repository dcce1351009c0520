/**
 * `ferry inject`: multi-document YAML in, the same documents with every workload's pod
 * template injected out (as `istioctl kube-inject -f`). Pure: text in, text out. The YAML is
 * read as kubectl reads it and written so that it means the same (kube-yaml.ts).
 */
import { completionWarning } from './completion-warning.js';
import { InjectError } from './inject-error.js';
import { injectPod } from './inject-pod.js';
import type { SkipNotice } from './injection-policy.js';
import type { InjectionTemplate } from './injection-template.js';
import { applyPatch } from './json-patch.js';
import type { PodTemplate } from './kube-types.js';
import { readManifestDocuments, writeManifestObject } from './kube-yaml.js';

/** Where each kind keeps its pod template (a JSON pointer; '' is the object itself). */
const TEMPLATE_AT: Readonly<Record<string, string>> = {
  Pod: '',
  Deployment: '/spec/template',
  StatefulSet: '/spec/template',
  DaemonSet: '/spec/template',
  ReplicaSet: '/spec/template',
  ReplicationController: '/spec/template',
  Job: '/spec/template',
  CronJob: '/spec/jobTemplate/spec/template',
  // OpenShift (apps.openshift.io/v1): a Deployment with triggers, the same pod template.
  DeploymentConfig: '/spec/template',
};

export interface ManifestObjectResult {
  readonly kind: string;
  readonly name: string;
  /** Where it is in the input: `document 2`, `document 1 items[3]`. */
  readonly where: string;
  readonly injected: boolean;
  /** Why it was left alone: not a workload, opted out, already injected, hostNetwork. */
  readonly reason?: string;
  /** How loudly that is worth saying (absent for objects that are not workloads). */
  readonly notice?: SkipNotice;
  /** What the user should know about the injected workload. */
  readonly warnings: readonly string[];
}

export interface ManifestOptions {
  /**
   * A workload with another mesh's sidecar: 'refuse' (the default) fails the whole manifest
   * with FERRY_INJECT_OTHER_MESH; 'skip' leaves it alone and reports it.
   */
  readonly otherMesh?: 'refuse' | 'skip';
}

export interface InjectedManifest {
  readonly yaml: string;
  readonly objects: readonly ManifestObjectResult[];
}

function at(obj: unknown, pointer: string): unknown {
  let v = obj;
  for (const t of pointer.split('/').slice(1)) v = (v as Record<string, unknown> | undefined)?.[t];
  return v;
}

/**
 * A copy in which no two places share an object: an alias is a second copy of its anchor's
 * value, not the same object, so a patch of one place never changes another.
 */
function unshared(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unshared);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unshared(v)]));
}

function injectObject(
  obj: unknown,
  template: InjectionTemplate,
  options: ManifestOptions,
  where: string,
  results: ManifestObjectResult[],
  impliedKind = '',
): unknown {
  if (typeof obj !== 'object' || obj === null) return obj;
  const o = obj as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const kind = typeof o.kind === 'string' ? o.kind : impliedKind;
  // `kubectl get -o yaml` writes `List`; a typed list (`DeploymentList`, as the API server
  // answers a list request) has items too, which may leave their kind out.
  if (kind.endsWith('List') && Array.isArray((o as { items?: unknown }).items)) {
    const itemKind = kind === 'List' ? '' : kind.slice(0, -'List'.length);
    const items = (o as { items: unknown[] }).items.map((item, i) =>
      injectObject(item, template, options, `${where} items[${i}]`, results, itemKind),
    );
    return { ...o, items };
  }
  const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
  const shown = name || '(unnamed)';
  const pointer = TEMPLATE_AT[kind];
  if (pointer === undefined) {
    results.push({ kind, name, where, injected: false, reason: 'not a workload', warnings: [] });
    return obj;
  }
  const namespace = typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : undefined;
  const label = `${where}: ${kind} ${namespace ? `${namespace}/` : ''}${shown}`;
  const field = pointer === '' ? '' : pointer.slice(1).replaceAll('/', '.');
  const pod = at(obj, pointer);
  const { decision, patch } = injectPod(
    pod,
    template,
    { mode: 'offline', namespace },
    { at: pointer, workloadName: name || undefined, where: field ? `${label}: ${field}` : label },
  );
  if (!decision.inject) {
    if (decision.notice === 'other-mesh' && options.otherMesh !== 'skip') {
      throw new InjectError('FERRY_INJECT_OTHER_MESH', `${label}: ${decision.reason}`);
    }
    const { reason, notice } = decision;
    results.push({ kind, name, where, injected: false, reason, notice, warnings: [] });
    return obj;
  }
  // injectPod checked the shape: the pod is a PodTemplate from here on.
  const warning = completionWarning(pod as PodTemplate, kind, template);
  results.push({ kind, name, where, injected: true, warnings: warning ? [warning] : [] });
  return applyPatch(obj, patch);
}

export function injectManifest(
  text: string,
  template: InjectionTemplate,
  options: ManifestOptions = {},
): InjectedManifest {
  const docs = readManifestDocuments(text);
  if (docs.length === 0) return { yaml: text, objects: [] };
  const results: ManifestObjectResult[] = [];
  const out: string[] = [];
  // Every document must parse before any is changed: broken input gives no partial output.
  docs.forEach((doc, i) => {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0];
      throw new InjectError(
        'FERRY_INJECT_BAD_MANIFEST',
        `document ${i + 1}${line ? ` (line ${line.line})` : ''}: ${error.message.split('\n')[0]}`,
      );
    }
  });
  docs.forEach((doc, i) => {
    // Aliases are expanded here, each into a copy of its own.
    const obj = unshared(doc.toJS({ maxAliasCount: 100 }));
    if (obj === null || obj === undefined) return;
    const injected = injectObject(obj, template, options, `document ${i + 1}`, results);
    out.push(writeManifestObject(injected));
  });
  return { yaml: out.join('---\n'), objects: results };
}
