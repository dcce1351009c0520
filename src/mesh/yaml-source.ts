/**
 * The YAML layer: text to plain data, plus a way back from a field path to a line and column,
 * so that every error points at the node it is about.
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from 'yaml';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

export interface YamlProblem extends Position {
  readonly message: string;
}

export interface YamlSource {
  readonly data: unknown;
  /** Where an issue's node is; the nearest enclosing node when the path goes past the file. */
  locate(issue: Issue): Position;
}

export type YamlResult =
  | { readonly ok: true; readonly source: YamlSource }
  | { readonly ok: false; readonly problems: readonly YamlProblem[] };

// Bounds alias expansion ("billion laughs"); a mesh file has no reason to need more.
const MAX_ALIAS_COUNT = 100;

export function readYaml(text: string): YamlResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // Warnings (e.g. an unknown tag such as `!secret`) count as errors: in a config file they mean
  // the value is not what the author intended.
  const problems: YamlProblem[] = [...doc.errors, ...doc.warnings].map((e) => ({
    ...at(e.pos[0]),
    message: e.message,
  }));
  visit(doc, {
    Alias(_key, alias) {
      if (alias.resolve(doc) === undefined && alias.range) {
        problems.push({ ...at(alias.range[0]), message: `unknown alias *${alias.source}` });
      }
    },
  });
  if (problems.length > 0) return { ok: false, problems: sortByPosition(problems) };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return { ok: false, problems: [{ line: 1, column: 1, message: (e as Error).message }] };
  }
  return {
    ok: true,
    source: {
      data,
      locate: (issue) => {
        const offset = findOffset(doc, issue.path, issue.at ?? 'value');
        return at(offset);
      },
    },
  };
}

function findOffset(doc: Document, path: FieldPath, at: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const segment = path[i];
    let key: unknown;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (pair === undefined) break;
      key = pair.key;
      next = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    } else {
      break;
    }
    const last = i === path.length - 1;
    const keyOffset = rangeStart(key);
    if (last && at === 'key' && keyOffset !== undefined) return keyOffset;
    // `key:` with nothing after it has an empty value; point at the key instead.
    const valueOffset = isEmptyScalar(next) ? undefined : rangeStart(next);
    offset = valueOffset ?? keyOffset ?? offset;
    if (valueOffset === undefined) break;
    node = next;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && node.source === '';
}

function sortByPosition<T extends Position>(items: T[]): T[] {
  return items.sort((a, b) => a.line - b.line || a.column - b.column);
}
