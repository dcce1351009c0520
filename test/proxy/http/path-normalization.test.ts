/** Path normalization (Envoy's normalize_path, Istio's BASE): RFC 3986 §6.2.2 and §5.2.4. */
import assert from 'node:assert/strict';
import { normalizePath } from '../../../src/proxy/http/path-normalization.js';

describe('normalizePath', () => {
  const cases: Array<[string, string | undefined]> = [
    ['/', '/'],
    ['/public/page?x=1', '/public/page?x=1'],
    ['/.well-known/acme', '/.well-known/acme'],
    ['/public/../admin', '/admin'],
    ['/public/./../admin/', '/admin/'],
    ['/../../admin', '/admin'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/%61dmin', '/admin'],
    ['/public/%2e%2E/admin', '/admin'],
    ['/a%2fb', '/a%2Fb'], // an encoded slash stays encoded, as Envoy's default
    ['/a%20b', '/a%20b'],
    ['/%7e%41', '/~A'],
    ['/a?q=/../%61', '/a?q=/../%61'], // the query is left alone
    ['/a%zz', undefined],
    ['/a%4', undefined],
    ['*', '*'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(normalizePath(input), expected);
    });
  }

  it('returns the very same string when there is nothing to normalize', () => {
    const p = '/api/v1/items?limit=10';
    assert.equal(normalizePath(p), p);
  });
});
