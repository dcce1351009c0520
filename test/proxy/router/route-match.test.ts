import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { compileError, request, routeName, routes, to } from './helpers.js';

const at = (path: string, headers = {}, method = 'GET') => request('h', path, method, headers);

describe('router: route matching', () => {
  it('takes the first route that matches, in order', () => {
    const t = routes(to('first', { prefix: '/a' }), to('second', { prefix: '/a/b' }));
    assert.equal(routeName(t, at('/a/b')), 'first');
  });

  it('gives undefined when no route matches', () => {
    assert.equal(routeName(routes(to('a', { prefix: '/a' })), at('/b')), undefined);
  });

  describe('path specifiers', () => {
    it('prefix', () => {
      const t = routes(to('api', { prefix: '/api' }));
      assert.equal(routeName(t, at('/api')), 'api');
      assert.equal(routeName(t, at('/apix/y')), 'api');
      assert.equal(routeName(t, at('/API')), undefined);
      assert.equal(routeName(t, at('/ap')), undefined);
    });

    it('exact path, without the query string or fragment', () => {
      const t = routes(to('health', { path: '/healthz' }));
      assert.equal(routeName(t, at('/healthz')), 'health');
      assert.equal(routeName(t, at('/healthz?verbose=1')), 'health');
      assert.equal(routeName(t, at('/healthz#top')), 'health');
      assert.equal(routeName(t, at('/healthz/')), undefined);
    });

    it('safe_regex matches the whole path, without the query string', () => {
      const t = routes(to('v', { safe_regex: { regex: '/v[0-9]+/[a-z]+' } }));
      assert.equal(routeName(t, at('/v12/users')), 'v');
      assert.equal(routeName(t, at('/v12/users?x=/v1/a')), 'v');
      assert.equal(routeName(t, at('/v12/users/7')), undefined);
      assert.equal(routeName(t, at('/prefix/v12/users')), undefined);
    });

    it('path_separated_prefix stops at a segment boundary', () => {
      const t = routes(to('api', { path_separated_prefix: '/api' }));
      assert.equal(routeName(t, at('/api')), 'api');
      assert.equal(routeName(t, at('/api/x')), 'api');
      assert.equal(routeName(t, at('/api?x=1')), 'api');
      assert.equal(routeName(t, at('/apix')), undefined);
    });

    it('case_sensitive: false applies to prefix, path and path_separated_prefix', () => {
      const off = { case_sensitive: { value: false } };
      const t = routes(
        to('p', { prefix: '/Api/', ...off }),
        to('e', { path: '/Health', ...off }),
        to('s', { path_separated_prefix: '/Docs', ...off }),
      );
      assert.equal(routeName(t, at('/aPI/x')), 'p');
      assert.equal(routeName(t, at('/HEALTH')), 'e');
      assert.equal(routeName(t, at('/docs/a')), 's');
      // A BoolValue present without a value is false, as proto3 decodes { value: false }.
      assert.equal(routeName(routes(to('q', { path: '/A', case_sensitive: {} })), at('/a')), 'q');
      assert.equal(
        routeName(routes(to('q', { path: '/A', case_sensitive: { value: true } })), at('/a')),
        undefined,
      );
    });

    it('rejects a match with no or two path specifiers, and unsupported match fields', () => {
      assert.match(
        compileError({ virtual_hosts: [{ name: 'v', domains: ['*'], routes: [to('r', {})] }] }),
        /route #0 "r": match must set exactly one/,
      );
      assert.match(
        compileError({
          virtual_hosts: [
            { name: 'v', domains: ['*'], routes: [to('r', { prefix: '/', path: '/' })] },
          ],
        }),
        /exactly one of prefix/,
      );
      assert.match(
        compileError({
          virtual_hosts: [
            { name: 'v', domains: ['*'], routes: [to('r', { prefix: '/', runtime_fraction: {} })] },
          ],
        }),
        /match.runtime_fraction is not supported/,
      );
      assert.match(
        compileError({
          virtual_hosts: [
            { name: 'v', domains: ['*'], routes: [to('r', { path_separated_prefix: '/a/' })] },
          ],
        }),
        /path_separated_prefix "\/a\/" is invalid/,
      );
    });
  });

  describe('header matchers', () => {
    const one = (h: object) => routes(to('m', { prefix: '/', headers: [h] }));
    const hits = (h: object, headers: Record<string, string | string[]>) =>
      routeName(one(h), at('/', headers)) === 'm';

    it('string_match exact, prefix, suffix, contains, safe_regex, ignore_case', () => {
      assert.ok(hits({ name: 'x-v', string_match: { exact: 'v1' } }, { 'x-v': 'v1' }));
      assert.ok(!hits({ name: 'x-v', string_match: { exact: 'v1' } }, { 'x-v': 'v12' }));
      assert.ok(hits({ name: 'x-v', string_match: { prefix: 'v1' } }, { 'x-v': 'v12' }));
      assert.ok(hits({ name: 'x-v', string_match: { suffix: '12' } }, { 'x-v': 'v12' }));
      assert.ok(!hits({ name: 'x-v', string_match: { suffix: '12' } }, { 'x-v': '2' }));
      assert.ok(hits({ name: 'x-v', string_match: { contains: 'eta' } }, { 'x-v': 'beta-1' }));
      assert.ok(
        hits({ name: 'x-v', string_match: { safe_regex: { regex: 'v[0-9]+' } } }, { 'x-v': 'v42' }),
      );
      assert.ok(
        !hits(
          { name: 'x-v', string_match: { safe_regex: { regex: 'v[0-9]+' } } },
          { 'x-v': 'v42a' },
        ),
      );
      assert.ok(
        hits(
          { name: 'x-v', string_match: { exact: 'Beta', ignore_case: true } },
          { 'x-v': 'bETA' },
        ),
      );
      assert.ok(
        hits(
          { name: 'x-v', string_match: { contains: 'ET', ignore_case: true } },
          { 'x-v': 'beta' },
        ),
      );
      assert.ok(!hits({ name: 'x-v', string_match: { exact: 'Beta' } }, { 'x-v': 'beta' }));
    });

    it('reads the header name case-insensitively and joins repeated values with ","', () => {
      assert.ok(hits({ name: 'X-V', string_match: { exact: 'a' } }, { 'x-v': 'a' }));
      assert.ok(hits({ name: 'x-v', string_match: { exact: 'a,b' } }, { 'x-v': ['a', 'b'] }));
    });

    it('legacy exact_match, prefix_match, suffix_match, contains_match, safe_regex_match, range_match', () => {
      assert.ok(hits({ name: 'x', exact_match: 'a' }, { x: 'a' }));
      assert.ok(hits({ name: 'x', exact_match: '' }, { x: 'anything' }));
      assert.ok(!hits({ name: 'x', exact_match: '' }, {}));
      assert.ok(hits({ name: 'x', prefix_match: 'a' }, { x: 'ab' }));
      assert.ok(hits({ name: 'x', suffix_match: 'b' }, { x: 'ab' }));
      assert.ok(hits({ name: 'x', contains_match: 'b' }, { x: 'abc' }));
      assert.ok(hits({ name: 'x', safe_regex_match: { regex: 'a.c' } }, { x: 'abc' }));
      const range = { name: 'x', range_match: { start: -10, end: 10 } };
      assert.ok(hits(range, { x: '-10' }));
      assert.ok(hits(range, { x: ' 9 ' }));
      assert.ok(!hits(range, { x: '10' }));
      assert.ok(!hits(range, { x: '1.5' }));
      assert.ok(!hits(range, { x: '' }));
    });

    it('present_match, and its inversion', () => {
      assert.ok(hits({ name: 'x', present_match: true }, { x: '' }));
      assert.ok(!hits({ name: 'x', present_match: true }, {}));
      assert.ok(hits({ name: 'x', present_match: false }, {}));
      assert.ok(!hits({ name: 'x', present_match: false }, { x: '1' }));
      assert.ok(hits({ name: 'x', present_match: true, invert_match: true }, {}));
      assert.ok(!hits({ name: 'x', present_match: true, invert_match: true }, { x: '1' }));
    });

    it('invert_match of a value matcher: other values match, a missing header does not', () => {
      const h = { name: 'x', string_match: { exact: 'a' }, invert_match: true };
      assert.ok(hits(h, { x: 'b' }));
      assert.ok(!hits(h, { x: 'a' }));
      assert.ok(!hits(h, {}));
    });

    it('treat_missing_header_as_empty matches a missing header as ""', () => {
      const h = {
        name: 'x',
        string_match: { exact: 'a' },
        invert_match: true,
        treat_missing_header_as_empty: true,
      };
      assert.ok(hits(h, {}));
      assert.ok(
        hits({ name: 'x', string_match: { exact: '' }, treat_missing_header_as_empty: true }, {}),
      );
    });

    it('maps :method, :authority and :path to the request', () => {
      const t = routes(
        to('get', { prefix: '/', headers: [{ name: ':method', string_match: { exact: 'GET' } }] }),
        to('host', {
          prefix: '/',
          headers: [{ name: ':authority', string_match: { prefix: 'h:' } }],
        }),
        to('query', {
          prefix: '/',
          headers: [{ name: ':path', string_match: { suffix: '?debug' } }],
        }),
      );
      assert.equal(routeName(t, request('h', '/', 'GET')), 'get');
      assert.equal(routeName(t, request('h:80', '/', 'PUT')), 'host');
      assert.equal(routeName(t, request('h', '/x?debug', 'PUT')), 'query');
      assert.equal(routeName(t, request('h', '/x', 'PUT')), undefined);
    });

    it('requires every header matcher of a route', () => {
      const t = routes(
        to('both', {
          prefix: '/',
          headers: [
            { name: 'a', present_match: true },
            { name: 'b', string_match: { exact: '1' } },
          ],
        }),
      );
      assert.equal(routeName(t, at('/', { a: 'x', b: '1' })), 'both');
      assert.equal(routeName(t, at('/', { a: 'x' })), undefined);
      assert.equal(routeName(t, at('/', { b: '1' })), undefined);
    });
  });

  describe('query parameter matchers', () => {
    const t = routes(
      to('q', {
        prefix: '/',
        query_parameters: [
          { name: 'q', string_match: { prefix: 'a' } },
          { name: 'flag', present_match: true },
        ],
      }),
    );

    it('string_match on the first value, present_match on presence', () => {
      assert.equal(routeName(t, at('/?q=abc&flag')), 'q');
      assert.equal(routeName(t, at('/?flag=&q=a')), 'q');
      assert.equal(routeName(t, at('/?q=b&flag=1&q=a')), undefined);
      assert.equal(routeName(t, at('/?q=abc')), undefined);
      assert.equal(routeName(t, at('/?flags=1&q=a')), undefined);
      assert.equal(routeName(t, at('/?qq=a&flag')), undefined);
      assert.equal(routeName(t, at('/')), undefined);
    });

    it('decodes percent-encoding, keeps "+", and stops at a fragment', () => {
      const e = routes(
        to('e', {
          prefix: '/',
          query_parameters: [{ name: 'k', string_match: { exact: 'a b+c' } }],
        }),
      );
      assert.equal(routeName(e, at('/?k=a%20b+c')), 'e');
      assert.equal(routeName(e, at('/?%6B=a%20b+c')), 'e');
      assert.equal(routeName(e, at('/?k=a%20b+c#frag')), 'e');
      assert.equal(routeName(e, at('/?k=a+b+c')), undefined);
      // A malformed escape is compared as sent, not thrown.
      const bad = routes(
        to('b', { prefix: '/', query_parameters: [{ name: 'k', string_match: { exact: '%zz' } }] }),
      );
      assert.equal(routeName(bad, at('/?k=%zz')), 'b');
    });
  });

  it('grpc: matches only gRPC content types', () => {
    const t = routes(to('grpc', { prefix: '/', grpc: {} }), to('rest', { prefix: '/' }));
    const ct = (v: string) => at('/svc/M', { 'content-type': v }, 'POST');
    assert.equal(routeName(t, ct('application/grpc')), 'grpc');
    assert.equal(routeName(t, ct('application/grpc+proto')), 'grpc');
    assert.equal(routeName(t, ct('application/grpc-web')), 'rest');
    assert.equal(routeName(t, ct('application/json')), 'rest');
    assert.equal(routeName(t, at('/svc/M')), 'rest');
  });
});
