/**
 * `ferry inject`: multi-document YAML in, the same documents with every workload's pod
 * template injected out (as `istioctl kube-inject -f`). Pure: text in, text out.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { InjectError } from './inject-error.js';
import { injectPod } from './inject-pod.js';
import type { InjectionTemplate } from './injection-template.js';
import { applyPatch } from './json-patch.js';

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
};

export interface ManifestObjectResult {
  readonly kind: string;
  readonly name: string;
  readonly injected: boolean;
  /** Why it was left alone: not a workload, opted out, already injected, hostNetwork. */
  readonly reason?: string;
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

function injectObject(
  obj: unknown,
  template: InjectionTemplate,
  where: string,
  results: ManifestObjectResult[],
): unknown {
  if (typeof obj !== 'object' || obj === null) return obj;
  const o = obj as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const kind = typeof o.kind === 'string' ? o.kind : '';
  if (kind === 'List' && Array.isArray((o as { items?: unknown }).items)) {
    const items = (o as { items: unknown[] }).items.map((item, i) =>
      injectObject(item, template, `${where} items[${i}]`, results),
    );
    return { ...o, items };
  }
  const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
  const shown = name || '(unnamed)';
  const pointer = TEMPLATE_AT[kind];
  if (pointer === undefined) {
    results.push({ kind, name, injected: false, reason: 'not a workload' });
    return obj;
  }
  const ns = typeof o.metadata?.namespace === 'string' ? `${o.metadata.namespace}/` : '';
  const label = `${where}: ${kind} ${ns}${shown}`;
  const field = pointer === '' ? '' : pointer.slice(1).replaceAll('/', '.');
  const { decision, patch } = injectPod(
    at(obj, pointer),
    template,
    { mode: 'offline' },
    { at: pointer, workloadName: name || undefined, where: field ? `${label}: ${field}` : label },
  );
  if (!decision.inject) {
    results.push({ kind, name, injected: false, reason: decision.reason });
    return obj;
  }
  results.push({ kind, name, injected: true });
  return applyPatch(obj, patch);
}

export function injectManifest(text: string, template: InjectionTemplate): InjectedManifest {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) {
    // An empty stream (only comments) parses as an EmptyStream.
    return { yaml: text, objects: [] };
  }
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
    const obj = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (obj === null || obj === undefined) return;
    const injected = injectObject(obj, template, `document ${i + 1}`, results);
    out.push(stringify(injected, { lineWidth: 0 }));
  });
  return { yaml: out.join('---\n'), objects: results };
}
