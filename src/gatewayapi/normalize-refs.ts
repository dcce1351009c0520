/**
 * Metadata and references, with the defaults the Gateway API CRDs apply: a reference's
 * namespace is the referring object's, a backendRef is a core Service, a parentRef a Gateway.
 * https://gateway-api.sigs.k8s.io/reference/spec/#parentreference
 */

import { int, record, str, stringMap } from '../parsed-data/index.js';
import type { GatewayApiIssue } from './issue.js';
import { type BackendRef, GATEWAY_GROUP, type ObjectMeta, type ParentRef } from './model.js';

export type Path = readonly (string | number)[];

export function readMeta(raw: unknown, clusterScoped: boolean): ObjectMeta {
  const m = record(raw);
  return {
    name: str(m.name) ?? '',
    namespace: clusterScoped ? '' : (str(m.namespace) ?? 'default'),
    labels: stringMap(m.labels),
    creationTimestamp: str(m.creationTimestamp) ?? '',
    generation: int(m.generation) ?? 0,
  };
}

export function readParentRef(raw: unknown, from: ObjectMeta): ParentRef {
  const r = record(raw);
  const port = int(r.port);
  const sectionName = str(r.sectionName);
  return {
    group: str(r.group) ?? GATEWAY_GROUP,
    kind: str(r.kind) ?? 'Gateway',
    namespace: str(r.namespace) ?? from.namespace,
    name: str(r.name) ?? '',
    ...(sectionName !== undefined ? { sectionName } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

/** A backendRef: a Service of the core group unless it says otherwise; weight 1. */
export function readBackendRef(
  raw: unknown,
  from: ObjectMeta,
  path: Path,
  issues: GatewayApiIssue[],
): BackendRef {
  const r = record(raw);
  const group = str(r.group) ?? '';
  const kind = str(r.kind) ?? 'Service';
  const port = int(r.port);
  // The CRD's rule: a Service needs a port (its ports are not known from the reference).
  if (port === undefined && group === '' && kind === 'Service') {
    issues.push({ path, message: 'a backendRef to a Service needs a port' });
  }
  if (r.filters !== undefined && Array.isArray(r.filters) && r.filters.length > 0) {
    issues.push({
      path: [...path, 'filters'],
      at: 'key',
      message: 'filters on a backendRef are not supported by Ferry; put them on the rule',
    });
  }
  return {
    group,
    kind,
    name: str(r.name) ?? '',
    namespace: str(r.namespace) ?? from.namespace,
    ...(port !== undefined ? { port } : {}),
    weight: int(r.weight) ?? 1,
  };
}

/** A certificateRef: a core Secret in the Gateway's namespace unless it says otherwise. */
export function readSecretRef(raw: unknown, from: ObjectMeta) {
  const r = record(raw);
  return {
    group: str(r.group) ?? '',
    kind: str(r.kind) ?? 'Secret',
    name: str(r.name) ?? '',
    namespace: str(r.namespace) ?? from.namespace,
  };
}

/** Reports every name after the first that repeats in `names` (list position i). */
export function checkUnique(
  names: readonly string[],
  what: string,
  pathOf: (i: number) => Path,
  issues: GatewayApiIssue[],
): void {
  const first = new Map<string, number>();
  names.forEach((name, i) => {
    const seen = first.get(name);
    if (seen === undefined) first.set(name, i);
    else issues.push({ path: pathOf(i), message: `duplicate ${what} '${name}'; see item ${seen}` });
  });
}
