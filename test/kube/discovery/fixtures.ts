/** Recorded API server responses and golden files (test/kube/discovery/fixtures/). */
import { goldenFiles } from '../../support/golden.js';

// dist/test/kube/discovery/ -> test/kube/discovery/fixtures/
export const {
  FIXTURES,
  readFixture: fixtureText,
  fixtureJson,
  expectGoldenJson,
} = goldenFiles(new URL('../../../../test/kube/discovery/fixtures/', import.meta.url));
