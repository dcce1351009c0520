/** Golden files of the inject tests (test/kube/inject/fixtures/, read from the source tree). */
import { goldenFiles } from '../../support/golden.js';

// dist/test/kube/inject/ -> test/kube/inject/fixtures/
export const { FIXTURES, readFixture, expectGoldenText, expectGoldenJson } = goldenFiles(
  new URL('../../../../test/kube/inject/fixtures/', import.meta.url),
);
