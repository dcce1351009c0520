/**
 * `ferry analyze`'s checks: one broken mesh file per code (test/mesh/analyze/fixtures), each
 * reported with its code, line and column; and files without problems report none.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzeMesh, type LiveView, MESSAGES } from '../../../src/mesh/index.js';

// dist/test/mesh/analyze/ -> the fixtures beside this test's source.
const FIXTURES = fileURLToPath(new URL('../../../../test/mesh/analyze/fixtures/', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../../examples/', import.meta.url));

function analyze(name: string, live?: LiveView) {
  return analyzeMesh(readFileSync(FIXTURES + name, 'utf8'), name, live);
}

/** `code line:col severity` of each finding. */
function summary(name: string, live?: LiveView): string[] {
  return analyze(name, live).findings.map((f) => `${f.code} ${f.line}:${f.column} ${f.severity}`);
}

describe('analyzeMesh', () => {
  it('FM0001: an invalid file, at the field', () => {
    assert.deepEqual(summary('FM0001-invalid.yaml'), ['FM0001 4:33 error']);
    assert.equal(analyze('FM0001-invalid.yaml').valid, false);
  });

  it('FM0101: a route to a subset that does not exist, at the subset', () => {
    assert.deepEqual(summary('FM0101-unknown-subset.yaml'), ['FM0101 10:23 error']);
    assert.match(
      analyze('FM0101-unknown-subset.yaml').findings[0]?.message ?? '',
      /no subset 'v3'/,
    );
  });

  it('FM0102: a route shadowed by an earlier, broader match, at the route', () => {
    assert.deepEqual(summary('FM0102-shadowed-route.yaml'), ['FM0102 11:9 warning']);
    const f = analyze('FM0102-shadowed-route.yaml').findings[0];
    assert.match(f?.message ?? '', /route 'users' .* route 'everything-under-api' before it/);
    assert.equal(f?.field, 'services[0].routes[1]');
    assert.equal(f?.fix, MESSAGES.shadowedRoute.fix);
  });

  it('FM0103: a service with no endpoints, only with the live view', () => {
    assert.deepEqual(summary('FM0103-no-endpoints.yaml'), []);
    const live: LiveView = {
      endpointCount: (s) => s.endpoints.length,
      proxylessCallers: () => [],
    };
    assert.deepEqual(summary('FM0103-no-endpoints.yaml', live), ['FM0103 7:11 warning']);
  });

  it('FM0104: a STRICT service proxyless clients call, at its mtls', () => {
    const live: LiveView = {
      endpointCount: () => 1,
      proxylessCallers: (s) => (s.name === 'api' ? ['xds:///api:8080'] : []),
    };
    assert.deepEqual(summary('FM0104-strict-proxyless.yaml'), []);
    assert.deepEqual(summary('FM0104-strict-proxyless.yaml', live), ['FM0104 8:13 error']);
  });

  it('FM0105: authorization rules no request can match, at the principal', () => {
    assert.deepEqual(summary('FM0105-authorization-never-matches.yaml'), [
      'FM0105 11:26 warning',
      'FM0105 21:26 warning',
    ]);
    const [domain, disabled] = analyze('FM0105-authorization-never-matches.yaml').findings;
    assert.match(domain?.message ?? '', /outside the mesh's trust domain cluster\.local/);
    assert.match(disabled?.message ?? '', /mTLS DISABLE/);
  });

  it('FM0106: weights that do not add up to 100, with the real split', () => {
    assert.deepEqual(summary('FM0106-weights.yaml'), ['FM0106 11:11 warning']);
    assert.match(
      analyze('FM0106-weights.yaml').findings[0]?.message ?? '',
      /add up to 90, not 100: the split is v1 88\.9%, v2 11\.1%/,
    );
  });

  it('FM0107: a subset no route names, at its name', () => {
    assert.deepEqual(summary('FM0107-unused-subset.yaml'), ['FM0107 7:17 warning']);
  });

  it('finds nothing in the demo mesh; a later narrower route after a different one is fine', () => {
    const demo = readFileSync(`${EXAMPLES}demo/mesh.yaml`, 'utf8');
    assert.deepEqual(analyzeMesh(demo, 'mesh.yaml').findings, []);
    const ordered = readFileSync(FIXTURES + 'FM0102-shadowed-route.yaml', 'utf8').replace(
      'prefix: /api }',
      'prefix: /api/orders }',
    );
    assert.deepEqual(analyzeMesh(ordered, 'x.yaml').findings, []);
  });
});
