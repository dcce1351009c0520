/** Helpers for the mesh tests: YAML written one line per argument, so line numbers are plain. */
import assert from 'node:assert/strict';
import { type MeshConfig, type MeshError, parseMesh } from '../../src/mesh/index.js';

export const FILE = 'mesh.yaml';

/** Joins lines with newlines: the text's line N is argument N. */
export function lines(...text: string[]): string {
  return `${text.join('\n')}\n`;
}

/** The start of a one-service mesh: `api` with one http port, on lines 1 to 4. */
export const API_HEAD: readonly string[] = [
  'services:',
  '  - name: api', // 2
  '    ports:', // 3
  '      - { port: 8080, protocol: http }', // 4
];

/** Every error of `text` as `line field: message`, in file order. */
export function errorSummary(text: string): string[] {
  return errorsOf(text).map((e) => `${e.line} ${e.field}: ${e.message}`);
}

export function configOf(text: string): MeshConfig {
  const result = parseMesh(text, FILE);
  if (!result.ok) {
    assert.fail(`expected a valid mesh, got:\n${result.errors.map((e) => e.message).join('\n')}`);
  }
  return result.config;
}

export function errorsOf(text: string): readonly MeshError[] {
  const result = parseMesh(text, FILE);
  if (result.ok) assert.fail('expected errors, the mesh is valid');
  return result.errors;
}

/** The one error of `text`, checked to be about `field` on line `line`. */
export function expectError(
  text: string,
  field: string,
  line: number,
  message?: RegExp,
): MeshError {
  const errors = errorsOf(text);
  const summary = errors.map((e) => `${e.line}:${e.column} ${e.field}: ${e.message}`).join('\n');
  assert.equal(errors.length, 1, `expected one error, got:\n${summary}`);
  const [error] = errors;
  assert.equal(error.field, field, summary);
  assert.equal(error.line, line, summary);
  assert.equal(error.file, FILE);
  if (message !== undefined) assert.match(error.message, message);
  return error;
}
