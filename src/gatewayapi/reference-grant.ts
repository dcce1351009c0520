/**
 * Cross-namespace references: a route may send to a Service, and a Gateway use a Secret, in
 * another namespace only when a ReferenceGrant in that namespace allows it.
 * https://gateway-api.sigs.k8s.io/api-types/referencegrant/
 */
import type { ReferenceGrant } from './model.js';

export interface Reference {
  /** The referring object's group, kind and namespace. */
  readonly from: { readonly group: string; readonly kind: string; readonly namespace: string };
  readonly to: {
    readonly group: string;
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
  };
}

/** True when the reference stays in its namespace or a grant in the target's allows it. */
export function referencePermitted(ref: Reference, grants: readonly ReferenceGrant[]): boolean {
  if (ref.from.namespace === ref.to.namespace) return true;
  return grants.some(
    (g) =>
      g.metadata.namespace === ref.to.namespace &&
      g.from.some(
        (f) =>
          f.group === ref.from.group &&
          f.kind === ref.from.kind &&
          f.namespace === ref.from.namespace,
      ) &&
      g.to.some(
        (t) =>
          t.group === ref.to.group &&
          t.kind === ref.to.kind &&
          (t.name === undefined || t.name === ref.to.name),
      ),
  );
}
