/**
 * JSON Patch (RFC 6902, https://www.rfc-editor.org/rfc/rfc6902) as far as injection needs
 * it: building `add` operations with RFC 6901 pointers, and applying them, which
 * `ferry inject` does offline and the tests do to check a patch against the API server's
 * semantics.
 */

export interface AddOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

export type JsonPatch = readonly AddOperation[];

/** One reference token: `~` → `~0`, `/` → `~1` (RFC 6901 section 3). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** A copy of `doc` with the operations applied in order; throws on a path that is not there. */
export function applyPatch<T>(doc: T, patch: JsonPatch): T {
  const root = structuredClone(doc) as unknown;
  for (const op of patch) {
    const tokens = op.path.split('/').slice(1).map(unescapeToken);
    const last = tokens.pop();
    if (last === undefined) throw new Error(`JSON patch: cannot add at the root ("${op.path}")`);
    let target: unknown = root;
    for (const t of tokens) {
      target = (target as Record<string, unknown> | undefined)?.[t];
      if (target === null || typeof target !== 'object') {
        throw new Error(`JSON patch: ${op.path}: "${t}" is not an object or array`);
      }
    }
    const value = structuredClone(op.value);
    if (Array.isArray(target)) {
      const index = last === '-' ? target.length : Number(last);
      if (!/^(0|[1-9]\d*|-)$/.test(last) || index > target.length) {
        throw new Error(`JSON patch: ${op.path}: index ${last} is out of range`);
      }
      target.splice(index, 0, value);
    } else {
      (target as Record<string, unknown>)[last] = value;
    }
  }
  return root as T;
}
