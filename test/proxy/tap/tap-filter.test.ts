import assert from 'node:assert/strict';
import {
  DEFAULT_TAP_MAX_RPS,
  parseTapFilter,
  type TapEvent,
  TapFilterError,
  tapMatches,
} from '../../../src/proxy/tap/index.js';

function event(over: Partial<TapEvent> = {}): TapEvent {
  return {
    kind: 'request',
    at: '2026-01-01T00:00:00.000Z',
    direction: 'outbound',
    source: 'web.default',
    destination: 'reviews.default',
    method: 'GET',
    authority: 'reviews:9080',
    path: '/reviews/1',
    status: 200,
    grpcStatus: undefined,
    latencyMs: 1.5,
    peer: undefined,
    flags: '-',
    cluster: 'outbound|9080||reviews.default.svc.cluster.local',
    upstream: '127.0.0.1:1',
    ...over,
  };
}

const filter = (q: string) => parseTapFilter(new URLSearchParams(q));

describe('tap filters', () => {
  it('matches everything when empty, with the default max rate', () => {
    const f = filter('');
    assert.equal(f.maxRps, DEFAULT_TAP_MAX_RPS);
    assert.ok(tapMatches(f, event()));
  });

  it('filters by method (any case), path prefix and authority with or without the port', () => {
    assert.ok(tapMatches(filter('method=get'), event()));
    assert.ok(!tapMatches(filter('method=POST'), event()));
    assert.ok(tapMatches(filter('path=/reviews'), event()));
    assert.ok(!tapMatches(filter('path=/ratings'), event()));
    assert.ok(tapMatches(filter('authority=reviews'), event()));
    assert.ok(tapMatches(filter('authority=REVIEWS:9080'), event()));
    assert.ok(!tapMatches(filter('authority=review'), event()));
    assert.ok(!tapMatches(filter('authority=reviews:9081'), event()));
  });

  it('filters by direction, destination (--to) and source or peer identity (--from)', () => {
    assert.ok(!tapMatches(filter('direction=inbound'), event()));
    assert.ok(tapMatches(filter('to=reviews'), event()));
    assert.ok(tapMatches(filter('to=reviews.default'), event()));
    assert.ok(!tapMatches(filter('to=reviews.prod'), event()));
    assert.ok(!tapMatches(filter('to=review'), event()));
    assert.ok(tapMatches(filter('from=web'), event()));
    const inbound = event({
      direction: 'inbound',
      source: 'web.default',
      peer: 'spiffe://cluster.local/ns/default/sa/web',
    });
    assert.ok(tapMatches(filter('from=spiffe://cluster.local/ns/default/sa/web'), inbound));
    assert.ok(!tapMatches(filter('from=spiffe://cluster.local/ns/default/sa/api'), inbound));
  });

  it('refuses unknown parameters and malformed values, naming them', () => {
    const bad = (q: string, re: RegExp) =>
      assert.throws(
        () => filter(q),
        (e: unknown) =>
          e instanceof TapFilterError && e.code === 'FERRY_TAP_BAD_FILTER' && re.test(e.message),
      );
    bad('verb=GET', /unknown tap parameter "verb"/);
    bad('method=G%20ET', /method must be an HTTP method/);
    bad('path=users', /path must be a path prefix/);
    bad('direction=up', /direction must be inbound or outbound/);
    bad('max_rps=0', /max_rps must be a whole number/);
  });
});
