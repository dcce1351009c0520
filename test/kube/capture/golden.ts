/** Golden files of the capture tests (test/kube/capture/fixtures/, read from the source tree). */
import { goldenFiles } from '../../support/golden.js';

// dist/test/kube/capture/ -> test/kube/capture/fixtures/
export const { FIXTURES, readFixture, expectGoldenText, expectGoldenJson } = goldenFiles(
  new URL('../../../../test/kube/capture/fixtures/', import.meta.url),
);
