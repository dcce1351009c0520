import type { FieldPath } from './field-path.js';

/**
 * A problem found in the mesh file's data, before it is given a file position. `at: 'key'`
 * points at the property name itself (unknown or invalid keys); otherwise at the value, or,
 * when the value is missing, at the nearest enclosing node that exists.
 */
export interface Issue {
  readonly path: FieldPath;
  readonly message: string;
  readonly at?: 'key' | 'value';
  /** What kind of problem, for problems `ferry analyze` gives their own code (see analyze/). */
  readonly kind?: 'unknown-subset';
}
