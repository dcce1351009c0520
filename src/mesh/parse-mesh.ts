/** The mesh file, from text to a validated MeshConfig or to every error found in it. */

import { deepFreeze } from './deep-freeze.js';
import { type FieldPath, formatFieldPath } from './field-path.js';
import type { MeshError } from './mesh-error.js';
import { checkSchema } from './mesh-schema.js';
import type { MeshConfig } from './model.js';
import { normalizeMesh } from './normalize-mesh.js';
import { readYaml } from './yaml-source.js';

export type ParseMeshResult =
  | { readonly ok: true; readonly config: MeshConfig }
  | { readonly ok: false; readonly errors: readonly MeshError[] };

/**
 * Parses and validates a mesh file. `file` is only used in error records. Both validation
 * stages run, so one pass reports all the problems it can; a field the schema already
 * complained about (or one inside it) is not reported again by the semantic stage.
 */
export function parseMesh(text: string, file: string): ParseMeshResult {
  const yaml = readYaml(text);
  if (!yaml.ok) {
    return {
      ok: false,
      errors: yaml.problems.map((p) => ({
        file,
        line: p.line,
        column: p.column,
        field: '',
        message: p.message,
      })),
    };
  }
  const { data, locate } = yaml.source;
  if (data === null || data === undefined) {
    return {
      ok: false,
      errors: [
        {
          file,
          line: 1,
          column: 1,
          field: '',
          message: 'the mesh file is empty; it needs at least `services:`',
        },
      ],
    };
  }

  const schemaIssues = checkSchema(data);
  const schemaPaths = schemaIssues.map((i) => i.path);
  const normalized = normalizeSafely(data, schemaPaths);
  // A value the schema rejected is reported once, by the schema.
  const semanticIssues = (normalized?.issues ?? []).filter(
    (issue) => !schemaPaths.some((p) => isPrefix(p, issue.path)),
  );
  const issues = [...schemaIssues, ...semanticIssues];
  if (issues.length === 0 && normalized !== undefined) {
    return { ok: true, config: deepFreeze(normalized.config) };
  }

  const errors = issues.map((issue): MeshError => {
    const { line, column } = locate(issue);
    return {
      file,
      line,
      column,
      field: formatFieldPath(issue.path),
      message: issue.message,
      ...(issue.kind ? { kind: issue.kind } : {}),
    };
  });
  // Stable sort: issues on the same node keep the order the stages found them in.
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, errors };
}

/**
 * The semantic stage reads data of any shape, but data the schema rejected is the one place a
 * bug in it could throw; the schema's errors are then the answer. On schema-valid data a throw
 * is a bug and is not hidden.
 */
function normalizeSafely(
  data: unknown,
  schemaPaths: readonly FieldPath[],
): ReturnType<typeof normalizeMesh> | undefined {
  if (schemaPaths.length === 0) return normalizeMesh(data);
  try {
    return normalizeMesh(data, schemaPaths);
  } catch {
    return undefined;
  }
}

function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => segment === path[i]);
}
