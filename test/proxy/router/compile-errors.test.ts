import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { compileRouteTable } from '../../../src/proxy/router/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { compileError, request, routes, to } from './helpers.js';

function withRoutes(...rs: envoy.Route[]) {
  return { name: 'rc', virtual_hosts: [{ name: 'web', domains: ['*'], routes: rs }] };
}

describe('router: compile errors', () => {
  it('names the route configuration, virtual host and route of a regex that does not compile', () => {
    const e = compileError(
      withRoutes(to('ok', { prefix: '/' }), to('broken', { safe_regex: { regex: '/(a' } })),
    );
    assert.match(
      e,
      /^route configuration "rc": virtual host "web" route #1 "broken": match.safe_regex: regex "\/\(a" is not valid RE2: missing \)/,
    );
  });

  it('names a route without an action, or with two', () => {
    assert.match(
      compileError(withRoutes({ name: 'lost', match: { prefix: '/' } })),
      /route #0 "lost": route must have exactly one of route, redirect, direct_response/,
    );
    assert.match(
      compileError(
        withRoutes({
          name: 'two',
          match: { prefix: '/' },
          route: { cluster: 'c' },
          direct_response: { status: 200 },
        }),
      ),
      /"two": route must have exactly one/,
    );
    assert.match(compileError(withRoutes({ match: { prefix: '/' } })), /route #0: route must/);
  });

  it('names bad header and query matchers', () => {
    assert.match(
      compileError(
        withRoutes(
          to('h', {
            prefix: '/',
            headers: [{ name: 'x', string_match: { safe_regex: { regex: '[' } } }],
          }),
        ),
      ),
      /route #0 "h": header matcher x: regex "\[" is not valid RE2: missing \]/,
    );
    assert.match(
      compileError(
        withRoutes(to('h', { prefix: '/', headers: [{ string_match: { exact: 'a' } }] })),
      ),
      /header matcher without a name/,
    );
    assert.match(
      compileError(
        withRoutes(to('q', { prefix: '/', query_parameters: [{ name: 'q', string_match: {} }] })),
      ),
      /query parameter matcher q: string matcher must set exactly one/,
    );
    assert.match(
      compileError(
        withRoutes(
          to('q', { prefix: '/', headers: [{ name: 'x', string_match: { prefix: '' } }] }),
        ),
      ),
      /prefix must not be empty/,
    );
  });

  it('collects every error, not just the first', () => {
    const r = compileRouteTable(
      withRoutes(to('a', { safe_regex: { regex: '(' } }), { name: 'b', match: { prefix: '/' } }),
    );
    assert.ok(!r.ok);
    assert.equal(r.errors.length, 2);
    assert.equal(r.error, r.errors.join('; '));
  });

  it('accepts an empty configuration, which matches nothing', () => {
    const r = compileRouteTable({});
    assert.ok(r.ok);
    assert.equal(r.table.match(request('h')), undefined);
    assert.equal(routes().match(request('h')), undefined);
  });
});
