/**
 * Golden files and fixtures, read from the source tree (not dist/). UPDATE_GOLDEN=1 rewrites
 * the golden files instead of comparing; review the diff before committing.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

export interface GoldenFiles {
  readonly FIXTURES: URL;
  readFixture(file: string): string;
  fixtureJson<T = unknown>(file: string): T;
  expectGoldenText(file: string, actual: string): void;
  expectGoldenJson(file: string, actual: unknown): void;
}

/** Helpers for the fixtures folder at `dir` (a URL of the source tree's folder). */
export function goldenFiles(dir: URL): GoldenFiles {
  const readFixture = (file: string) => readFileSync(new URL(file, dir), 'utf8');
  const expectGoldenText = (file: string, actual: string) => {
    const url = new URL(file, dir);
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(url, actual);
      return;
    }
    let expected: string;
    try {
      expected = readFileSync(url, 'utf8');
    } catch (err) {
      throw new Error(
        `cannot read golden file fixtures/${file} (UPDATE_GOLDEN=1 writes it): ${err}`,
      );
    }
    assert.equal(
      actual,
      expected,
      `output differs from fixtures/${file} (UPDATE_GOLDEN=1 rewrites it)`,
    );
  };
  return {
    FIXTURES: dir,
    readFixture,
    fixtureJson: <T = unknown>(file: string) => JSON.parse(readFixture(file)) as T,
    expectGoldenText,
    expectGoldenJson: (file, actual) =>
      expectGoldenText(file, `${JSON.stringify(actual, null, 2)}\n`),
  };
}
