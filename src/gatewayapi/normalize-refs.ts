/**
 * Metadata and references, with the defaults the Gateway API CRDs apply: a reference's
 * namespace is the referring object's, a backendRef is a core Service, a parentRef a Gateway.
 * https://gateway-api.sigs.k8s.io/reference/spec/#parentreference
 */
import type { GatewayApiIssue } from './issue.js';
import { type BackendRef, GATEWAY_GROUP, type ObjectMeta, type ParentRef } from './model.js';
import { asInteger, asObject, asString, asStringMap } from './read-object.js';

export type Path = readonly (string | number)[];

export function readMeta(raw: unknown, clusterScoped: boolean): ObjectMeta {
  const m = asObject(raw);
  return {
    name: asString(m.name) ?? '',
    namespace: clusterScoped ? '' : (asString(m.namespace) ?? 'default'),
    labels: asStringMap(m.labels),
    creationTimestamp: asString(m.creationTimestamp) ?? '',
    generation: asInteger(m.generation) ?? 0,
  };
}

export function readParentRef(raw: unknown, from: ObjectMeta): ParentRef {
  const r = asObject(raw);
  const port = asInteger(r.port);
  const sectionName = asString(r.sectionName);
  return {
    group: asString(r.group) ?? GATEWAY_GROUP,
    kind: asString(r.kind) ?? 'Gateway',
    namespace: asString(r.namespace) ?? from.namespace,
    name: asString(r.name) ?? '',
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
  const r = asObject(raw);
  const group = asString(r.group) ?? '';
  const kind = asString(r.kind) ?? 'Service';
  const port = asInteger(r.port);
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
    name: asString(r.name) ?? '',
    namespace: asString(r.namespace) ?? from.namespace,
    ...(port !== undefined ? { port } : {}),
    weight: asInteger(r.weight) ?? 1,
  };
}

/** A certificateRef: a core Secret in the Gateway's namespace unless it says otherwise. */
export function readSecretRef(raw: unknown, from: ObjectMeta) {
  const r = asObject(raw);
  return {
    group: asString(r.group) ?? '',
    kind: asString(r.kind) ?? 'Secret',
    name: asString(r.name) ?? '',
    namespace: asString(r.namespace) ?? from.namespace,
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
