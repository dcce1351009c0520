import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { DEFAULT_ROUTE_TIMEOUT_MS, rewritePath } from '../../../src/proxy/router/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { compileError, forward, request, routes, table } from './helpers.js';

/** The route compiled from `route`, as matched by a request for `probe`. */
function action(
  route: envoy.RouteAction,
  match: envoy.Route['match'] = { prefix: '/' },
  probe = '/',
) {
  return forward(routes({ name: 'r', match, route }).match(request('h', probe)));
}

/** The share of each cluster over `n` evenly spread random values. */
function shares(pick: (random: number) => string | undefined, n = 10_000): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const c = pick((i + 0.5) / n) ?? '(none)';
    counts.set(c, (counts.get(c) ?? 0) + 1 / n);
  }
  return counts;
}

describe('router: route actions', () => {
  describe('cluster choice', () => {
    it('a single cluster', () => {
      assert.equal(action({ cluster: 'c' }).pickCluster(0.99, request('h')), 'c');
    });

    it('weighted clusters in proportion to their weights (90/10)', () => {
      const r = action({
        weighted_clusters: {
          clusters: [
            { name: 'a', weight: { value: 90 } },
            { name: 'b', weight: { value: 10 } },
          ],
        },
      });
      const s = shares((x) => r.pickCluster(x, request('h')));
      assert.ok(Math.abs(s.get('a')! - 0.9) < 0.01, `a: ${s.get('a')}`);
      assert.ok(Math.abs(s.get('b')! - 0.1) < 0.01, `b: ${s.get('b')}`);
    });

    it('never picks a zero weight, and survives random values at the edges', () => {
      const r = action({
        weighted_clusters: {
          clusters: [
            { name: 'zero', weight: {} },
            { name: 'a', weight: { value: 1 } },
            { name: 'none' },
            { name: 'b', weight: { value: 3 } },
          ],
        },
      });
      const s = shares((x) => r.pickCluster(x, request('h')));
      assert.deepEqual([...s.keys()].sort(), ['a', 'b']);
      assert.ok(Math.abs(s.get('b')! - 0.75) < 0.01);
      assert.equal(r.pickCluster(0, request('h')), 'a');
      assert.equal(r.pickCluster(0.999999, request('h')), 'b');
      assert.equal(r.pickCluster(1, request('h')), 'b');
      assert.equal(r.pickCluster(-1, request('h')), 'a');
      assert.equal(r.pickCluster(Number.NaN, request('h')), 'a');
    });

    it('cluster_header names the cluster in a request header', () => {
      const r = action({ cluster_header: 'X-Cluster' });
      assert.equal(r.pickCluster(0, request('h', '/', 'GET', { 'x-cluster': 'c1' })), 'c1');
      assert.equal(r.pickCluster(0, request('h', '/', 'GET', {})), undefined);
      assert.equal(r.pickCluster(0, request('h', '/', 'GET', { 'x-cluster': '' })), undefined);
    });

    it('cluster_not_found_response_code: 503 unless set, 404 or 500 when it says so; others rejected', () => {
      assert.equal(action({ cluster: 'c' }).clusterNotFoundStatus, 503);
      const code = (c: string | number) =>
        action({
          cluster: 'c',
          cluster_not_found_response_code:
            c as envoy.RouteAction['cluster_not_found_response_code'],
        }).clusterNotFoundStatus;
      assert.equal(code('SERVICE_UNAVAILABLE'), 503);
      assert.equal(code('NOT_FOUND'), 404);
      assert.equal(code('INTERNAL_SERVER_ERROR'), 500);
      assert.equal(code(2), 500);
      assert.match(
        compileError({
          virtual_hosts: [
            {
              name: 'v',
              domains: ['*'],
              routes: [
                {
                  name: 'r',
                  match: { prefix: '/' },
                  route: {
                    cluster: 'c',
                    cluster_not_found_response_code:
                      'TEAPOT' as envoy.RouteAction['cluster_not_found_response_code'],
                  },
                },
              ],
            },
          ],
        }),
        /cluster_not_found_response_code TEAPOT is not known/,
      );
    });

    it('rejects no cluster, two, empty weights, weights adding up to 0', () => {
      const bad = (route: envoy.RouteAction) =>
        compileError({
          virtual_hosts: [
            { name: 'v', domains: ['*'], routes: [{ name: 'r', match: { prefix: '/' }, route }] },
          ],
        });
      assert.match(bad({}), /route #0 "r": route action must set exactly one of cluster/);
      assert.match(bad({ cluster: 'a', cluster_header: 'b' }), /exactly one/);
      assert.match(bad({ cluster: '' }), /cluster name is empty/);
      assert.match(bad({ weighted_clusters: { clusters: [] } }), /has no clusters/);
      assert.match(
        bad({ weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } }),
        /add up to 0/,
      );
      assert.match(bad({ cluster_specifier_plugin: 'p' }), /not supported/);
    });
  });

  describe('timeouts', () => {
    it('defaults the route timeout to 15 s; 0 disables it', () => {
      assert.equal(DEFAULT_ROUTE_TIMEOUT_MS, 15_000);
      assert.equal(action({ cluster: 'c' }).timeoutMs, 15_000);
      assert.equal(action({ cluster: 'c', timeout: { seconds: 0 } }).timeoutMs, 0);
      assert.equal(action({ cluster: 'c', timeout: {} }).timeoutMs, 0);
      assert.equal(
        action({ cluster: 'c', timeout: { seconds: 2, nanos: 500_000_000 } }).timeoutMs,
        2500,
      );
    });

    it('keeps idle_timeout undefined unless set', () => {
      assert.equal(action({ cluster: 'c' }).idleTimeoutMs, undefined);
      assert.equal(action({ cluster: 'c', idle_timeout: { seconds: 30 } }).idleTimeoutMs, 30_000);
      assert.equal(action({ cluster: 'c', idle_timeout: { seconds: 0 } }).idleTimeoutMs, 0);
    });

    it('rejects a negative duration', () => {
      assert.match(
        compileError({
          virtual_hosts: [
            {
              name: 'v',
              domains: ['*'],
              routes: [
                {
                  name: 'r',
                  match: { prefix: '/' },
                  route: { cluster: 'c', timeout: { seconds: -1 } },
                },
              ],
            },
          ],
        }),
        /route #0 "r": timeout: not a valid non-negative duration/,
      );
    });
  });

  describe('retry policy precedence', () => {
    const rc = (route: envoy.RouteAction) =>
      table({
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            retry_policy: { retry_on: '5xx', num_retries: { value: 4 } },
            routes: [{ name: 'r', match: { prefix: '/' }, route }],
          },
        ],
      });

    it('uses the virtual host policy when the route has none', () => {
      const m = forward(rc({ cluster: 'c' }).match(request('h')));
      assert.equal(m.retry?.numRetries, 4);
    });

    it("uses the route's policy whole, without inheriting from the virtual host", () => {
      const m = forward(
        rc({ cluster: 'c', retry_policy: { retry_on: 'reset' } }).match(request('h')),
      );
      assert.equal(m.retry?.numRetries, 1);
    });

    it('has no policy when neither sets one', () => {
      assert.equal(action({ cluster: 'c' }).retry, undefined);
    });
  });

  describe('rewrites', () => {
    const rewrite = (prefix: string, rewriteTo: string, path: string) =>
      rewritePath(action({ cluster: 'c', prefix_rewrite: rewriteTo }, { prefix }, path), path);

    it('swaps the matched prefix and keeps the query', () => {
      assert.equal(rewrite('/api/', '/', '/api/users?id=1'), '/users?id=1');
      assert.equal(rewrite('/api/', '/v2/', '/api/users'), '/v2/users');
      assert.equal(rewrite('/api', '/v2', '/api/users'), '/v2/users');
    });

    it("'/api' -> '/' gives '/x' for '/api/x', not '//x'", () => {
      assert.equal(rewrite('/api', '/', '/api/x'), '/x');
      assert.equal(rewrite('/api', '/', '/api'), '/');
      assert.equal(rewrite('/api', '/', '/api?q=1'), '/?q=1');
      assert.equal(rewrite('/api', '/', '/apix'), '/x');
    });

    it('rewrites a case-insensitive prefix by its length', () => {
      const m = action(
        { cluster: 'c', prefix_rewrite: '/new/' },
        { prefix: '/OLD/', case_sensitive: { value: false } },
        '/old/x',
      );
      assert.equal(rewritePath(m, '/old/x'), '/new/x');
      assert.equal(m.matchedPrefix, '/old/');
    });

    it('replaces the whole path of exact-path and regex routes', () => {
      assert.equal(
        rewritePath(action({ cluster: 'c', prefix_rewrite: '/b' }, { path: '/a' }, '/a'), '/a?x=1'),
        '/b?x=1',
      );
      const re = action(
        { cluster: 'c', prefix_rewrite: '/' },
        { safe_regex: { regex: '/v[0-9]+/.*' } },
        '/v1/users',
      );
      assert.equal(rewritePath(re, '/v1/users?q=a'), '/?q=a');
      assert.equal(re.matchedPrefix, undefined);
    });

    it('path_separated_prefix rewrites like a prefix', () => {
      const m = action(
        { cluster: 'c', prefix_rewrite: '/' },
        { path_separated_prefix: '/api' },
        '/api',
      );
      assert.equal(rewritePath(m, '/api/x'), '/x');
      assert.equal(rewritePath(m, '/api'), '/');
    });

    it('regex_rewrite substitutes in the path with RE2 back-references', () => {
      const m = action(
        {
          cluster: 'c',
          regex_rewrite: {
            pattern: { regex: '^/service/([^/]+)(/.*)$' },
            substitution: '\\2/instance/\\1',
          },
        },
        { prefix: '/service' },
        '/service',
      );
      assert.equal(rewritePath(m, '/service/foo/v1/api?x=$1'), '/v1/api/instance/foo?x=$1');
      const all = action({
        cluster: 'c',
        regex_rewrite: { pattern: { regex: 'o' }, substitution: '$' },
      });
      assert.equal(rewritePath(all, '/foo?o=o'), '/f$$?o=o');
    });

    it('leaves the path alone without a rewrite (and treats an empty prefix_rewrite as unset)', () => {
      const path = '/a/b?c';
      assert.equal(rewritePath(action({ cluster: 'c' }), path), path);
      assert.equal(rewritePath(action({ cluster: 'c', prefix_rewrite: '' }), path), path);
      assert.equal(action({ cluster: 'c', prefix_rewrite: '' }).prefixRewrite, undefined);
    });

    it('rejects prefix_rewrite with regex_rewrite', () => {
      assert.match(
        compileError({
          virtual_hosts: [
            {
              name: 'v',
              domains: ['*'],
              routes: [
                {
                  name: 'r',
                  match: { prefix: '/' },
                  route: {
                    cluster: 'c',
                    prefix_rewrite: '/',
                    regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' },
                  },
                },
              ],
            },
          ],
        }),
        /mutually exclusive/,
      );
    });

    it('exposes host_rewrite_literal', () => {
      assert.equal(
        action({ cluster: 'c', host_rewrite_literal: 'api.internal' }).hostRewrite,
        'api.internal',
      );
      assert.equal(action({ cluster: 'c' }).hostRewrite, undefined);
    });
  });

  it('returns the same immutable route object for every match', () => {
    const t = routes({ name: 'r', match: { prefix: '/' }, route: { cluster: 'c' } });
    const a = t.match(request('h', '/a'));
    const b = t.match(request('x', '/b?c'));
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
  });
});
