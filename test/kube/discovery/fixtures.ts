/**
 * Recorded API server responses (fixtures/) and golden files. Fixtures are read from the
 * source tree, not dist/. UPDATE_GOLDEN=1 rewrites golden files; review the diff.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

// dist/test/kube/discovery/ -> test/kube/discovery/fixtures/
export const FIXTURES = new URL('../../../../test/kube/discovery/fixtures/', import.meta.url);

export function fixtureText(file: string): string {
  return readFileSync(new URL(file, FIXTURES), 'utf8');
}

export function fixtureJson<T = unknown>(file: string): T {
  return JSON.parse(fixtureText(file)) as T;
}

export function expectGoldenJson(file: string, actual: unknown): void {
  const url = new URL(file, FIXTURES);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(url, text);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(url, 'utf8');
  } catch (err) {
    throw new Error(`cannot read golden file fixtures/${file} (UPDATE_GOLDEN=1 writes it): ${err}`);
  }
  assert.equal(
    text,
    expected,
    `output differs from fixtures/${file} (UPDATE_GOLDEN=1 rewrites it)`,
  );
}
