/**
 * A path into the mesh file, as property names and list indexes, and its readable form
 * (`services[0].ports[1].protocol`) used in error messages.
 */

export type FieldPath = readonly (string | number)[];

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
    } else if (PLAIN_KEY.test(segment)) {
      out += out === '' ? segment : `.${segment}`;
    } else {
      // Keys such as `app.kubernetes.io/name` or `50051` would be ambiguous after a dot.
      out += `[${JSON.stringify(segment)}]`;
    }
  }
  return out;
}

/**
 * Turns a JSON Pointer (RFC 6901), as Ajv reports instance paths, into a field path. The data
 * decides whether a segment is a list index or a property name: `50051` is a key of a port map.
 */
export function fieldPathFromPointer(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(key);
      path.push(index);
      node = node[index];
    } else {
      path.push(key);
      node =
        typeof node === 'object' && node !== null
          ? (node as Record<string, unknown>)[key]
          : undefined;
    }
  }
  return path;
}
