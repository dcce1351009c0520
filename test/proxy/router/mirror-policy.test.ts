import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { isMirrored, shadowAuthority } from '../../../src/proxy/router/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { catchAll, compileError, forward, request, routes } from './helpers.js';

/** The mirror policies of a route to cluster `c` with these request_mirror_policies. */
function mirrorsOf(policies: envoy.RequestMirrorPolicy[] | undefined) {
  const route = routes({
    name: 'r',
    match: { prefix: '/' },
    route: { cluster: 'c', request_mirror_policies: policies },
  });
  return forward(route.match(request('h'))).mirrors;
}

/** The share of `n` evenly spread rolls that are mirrored. */
function share(policy: Parameters<typeof isMirrored>[0], n = 100_000): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (isMirrored(policy, (i + 0.5) / n)) hits++;
  return hits / n;
}

describe('router: request mirror policies', () => {
  it('a route without mirror policies has none (the data path checks one field)', () => {
    assert.equal(mirrorsOf(undefined), undefined);
    assert.equal(mirrorsOf([]), undefined);
  });

  it('mirrors every request without runtime_fraction, and its fraction with one', () => {
    const [all, tenth, half, none] = mirrorsOf([
      { cluster: 'shadow' },
      {
        cluster: 'shadow',
        runtime_fraction: { default_value: { numerator: 100_000, denominator: 'MILLION' } },
      },
      { cluster: 'shadow', runtime_fraction: { default_value: { numerator: 50 } } },
      // A fraction without a default value is proto3's zero: nothing is mirrored.
      { cluster: 'shadow', runtime_fraction: {} },
    ])!;
    assert.equal(share(all!), 1);
    assert.equal(share(tenth!), 0.1);
    assert.equal(share(half!), 0.5);
    assert.equal(share(none!), 0);
    assert.equal(all!.cluster, 'shadow');
    assert.equal(all!.suffixHost, true);
  });

  it('reads cluster_header (lower-cased) and disable_shadow_host_suffix_append', () => {
    const [p] = mirrorsOf([
      { cluster_header: 'X-Shadow', disable_shadow_host_suffix_append: true },
    ])!;
    assert.equal(p!.cluster, '');
    assert.equal(p!.clusterHeader, 'x-shadow');
    assert.equal(p!.suffixHost, false);
  });

  it('refuses a policy without a cluster or with two, and a bad fraction, naming the route', () => {
    const error = compileError(
      catchAll({
        name: 'r',
        match: { prefix: '/' },
        route: {
          cluster: 'c',
          request_mirror_policies: [
            {},
            { cluster: 'a', cluster_header: 'x' },
            {
              cluster: 'a',
              runtime_fraction: {
                default_value: { numerator: 1, denominator: 'BILLION' as never },
              },
            },
          ],
        },
      }),
    );
    assert.match(
      error,
      /request_mirror_policies\[0\]: needs exactly one of cluster, cluster_header/,
    );
    assert.match(
      error,
      /request_mirror_policies\[1\]: needs exactly one of cluster, cluster_header/,
    );
    assert.match(
      error,
      /request_mirror_policies\[2\]\.runtime_fraction: denominator must be HUNDRED, TEN_THOUSAND or MILLION, not BILLION/,
    );
    assert.match(error, /vh/);
  });

  it("appends -shadow to the host, before the port, as Envoy's shadow writer does", () => {
    assert.equal(shadowAuthority('api'), 'api-shadow');
    assert.equal(shadowAuthority('api.default:8080'), 'api.default-shadow:8080');
    assert.equal(shadowAuthority('[::1]:8080'), '[::1]-shadow:8080');
    assert.equal(shadowAuthority('[::1]'), '[::1]-shadow');
  });
});
