import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';

/**
 * The names of one list's items (routes, subsets, authorization rules): a name used twice is
 * an issue at the second item's name, pointing at the first. Empty names are the schema's
 * concern and never reported here.
 */
export class UniqueNames {
  private readonly firstIndex = new Map<string, number>();

  constructor(
    /** What a name names, as the message says it: `route name`. */
    private readonly what: string,
    /** The list's field, as the message points at it: `routes`. */
    private readonly listField: string,
    private readonly issues: Issue[],
  ) {}

  /** Records item `index`'s `name`, found at `namePath`. */
  add(name: string, index: number, namePath: FieldPath): void {
    if (name === '') return;
    const first = this.firstIndex.get(name);
    if (first === undefined) {
      this.firstIndex.set(name, index);
      return;
    }
    this.issues.push({
      path: namePath,
      message: `duplicate ${this.what} '${name}'; see ${this.listField}[${first}]`,
    });
  }
}
