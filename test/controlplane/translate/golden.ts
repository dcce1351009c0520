/**
 * Golden files: a translation is compared with its JSON under fixtures/ (in the source
 * tree, not dist/). UPDATE_GOLDEN=1 rewrites them instead; review the diff before committing.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

// dist/test/controlplane/translate/ -> test/controlplane/translate/fixtures/
const FIXTURES = new URL('../../../../test/controlplane/translate/fixtures/', import.meta.url);

export function expectGolden(file: string, actual: unknown): void {
  const url = new URL(file, FIXTURES);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(url, text);
    return;
  }
  let expected: unknown;
  try {
    expected = JSON.parse(readFileSync(url, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read golden file fixtures/${file} (UPDATE_GOLDEN=1 writes it): ${err}`);
  }
  assert.deepStrictEqual(
    JSON.parse(text),
    expected,
    `output differs from fixtures/${file} (UPDATE_GOLDEN=1 rewrites it)`,
  );
}
