/**
 * Golden files for the capture rules: compared with the file under fixtures/ in the source tree
 * (not dist/). UPDATE_GOLDEN=1 rewrites them instead; review the diff before committing.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

// dist/test/kube/capture/ -> test/kube/capture/fixtures/
export const FIXTURES = new URL('../../../../test/kube/capture/fixtures/', import.meta.url);

export function readFixture(file: string): string {
  return readFileSync(new URL(file, FIXTURES), 'utf8');
}

export function expectGoldenText(file: string, actual: string): void {
  const url = new URL(file, FIXTURES);
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(url, actual);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(url, 'utf8');
  } catch (err) {
    throw new Error(`cannot read golden file fixtures/${file} (UPDATE_GOLDEN=1 writes it): ${err}`);
  }
  assert.equal(
    actual,
    expected,
    `output differs from fixtures/${file} (UPDATE_GOLDEN=1 rewrites it)`,
  );
}

export function expectGoldenJson(file: string, actual: unknown): void {
  expectGoldenText(file, `${JSON.stringify(actual, null, 2)}\n`);
}
