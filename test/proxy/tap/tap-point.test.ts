/**
 * A tap point costs nothing while nobody taps: the listener's hook calls the metrics
 * recorder alone; a subscriber swaps the publisher in and leaving swaps it out again.
 */
import assert from 'node:assert/strict';
import type { RequestOutcome } from '../../../src/proxy/http/index.js';
import { parseTapFilter, type TapEvent, TapHub, TapPoint } from '../../../src/proxy/tap/index.js';

function outcome(over: Partial<RequestOutcome> & Record<string, unknown> = {}): RequestOutcome {
  return {
    clusterName: 'outbound|9080|v1|reviews.default.svc.cluster.local',
    status: 200,
    grpc: false,
    grpcStatus: '',
    flags: '',
    startedAt: performance.now(),
    requestBytes: 0,
    responseBytes: 0,
    downstreamSocket: { method: 'GET', url: '/r', headers: { host: 'reviews:9080' } },
    ...over,
  } as RequestOutcome;
}

describe('tap point', () => {
  it('records only, and builds no event, while nobody taps', () => {
    const recorded: RequestOutcome[] = [];
    const point = new TapPoint('outbound', 'web.default', (x) => recorded.push(x));
    const x = outcome();
    Object.defineProperty(x, 'downstreamSocket', {
      get() {
        throw new Error('an idle tap read the request');
      },
    });
    point.hook(x);
    assert.deepEqual(recorded, [x]);
    assert.equal(point.active, false);
  });

  it('publishes to matching subscribers while subscribed, and stops when they leave', () => {
    let recorded = 0;
    const out = new TapPoint('outbound', 'web.default', () => recorded++);
    const inb = new TapPoint('inbound', 'web.default', () => recorded++);
    const hub = new TapHub([out, inb], () => ({ node: 'web-1' }));
    const seen: TapEvent[] = [];
    const leave = hub.subscribe({
      filter: parseTapFilter(new URLSearchParams('direction=outbound&path=/r')),
      deliver: (e) => seen.push(e),
    });
    assert.equal(out.active, true);
    assert.equal(inb.active, false, 'an outbound-only subscriber does not tap inbound');
    out.hook(outcome());
    out.hook(outcome({ downstreamSocket: { method: 'GET', url: '/other', headers: {} } }));
    inb.hook(outcome());
    assert.equal(recorded, 3, 'metrics are recorded whether tapped or not');
    assert.equal(seen.length, 1);
    const e = seen[0]!;
    assert.equal(e.direction, 'outbound');
    assert.equal(e.source, 'web.default');
    assert.equal(e.destination, 'reviews.default');
    assert.equal(e.authority, 'reviews:9080');
    assert.equal(e.path, '/r');
    assert.equal(e.flags, '-');
    leave();
    assert.equal(out.active, false);
    out.hook(outcome());
    assert.equal(seen.length, 1);
  });

  it('names the inbound caller by its SPIFFE identity, or unknown without one', () => {
    const inb = new TapPoint('inbound', 'api.default', () => {});
    const hub = new TapHub([inb], () => ({}));
    const seen: TapEvent[] = [];
    hub.subscribe({ filter: parseTapFilter(new URLSearchParams()), deliver: (e) => seen.push(e) });
    inb.hook(outcome({ clusterName: 'inbound|8080||', flags: 'NR', status: 404 }));
    assert.equal(seen[0]?.source, 'unknown');
    assert.equal(seen[0]?.destination, 'api.default');
    assert.equal(seen[0]?.flags, 'NR');
    assert.equal(seen[0]?.status, 404);
  });
});
