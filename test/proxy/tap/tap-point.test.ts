/**
 * A tap point costs nothing while nobody taps: the listener has the metrics recorder itself
 * installed; a subscriber installs the publisher and the last one leaving the recorder again.
 */
import assert from 'node:assert/strict';
import type { RequestOutcome } from '../../../src/proxy/http/index.js';
import {
  parseTapFilter,
  type Recorder,
  type TapEvent,
  TapHub,
  TapPoint,
} from '../../../src/proxy/tap/index.js';

/** A listener's options: what the tap point installs. */
function listener(): { istio: Recorder | undefined } {
  return { istio: undefined };
}

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
  it('installs the metrics recorder itself while nobody taps', () => {
    const recorded: RequestOutcome[] = [];
    const record: Recorder = (x) => recorded.push(x);
    const options = listener();
    const point = new TapPoint('outbound', 'web.default', record, (r) => {
      options.istio = r;
    });
    assert.equal(options.istio, record, 'the very function a sidecar without tap calls');
    assert.equal(point.active, false);
    const hub = new TapHub([point], () => ({}));
    const leave = hub.subscribe({
      filter: parseTapFilter(new URLSearchParams()),
      deliver: () => {},
    });
    assert.notEqual(options.istio, record);
    leave();
    assert.equal(options.istio, record, 'the recorder again once the last subscriber left');
  });

  it('publishes to matching subscribers while subscribed, and stops when they leave', () => {
    let recorded = 0;
    const outOptions = listener();
    const inOptions = listener();
    const out = new TapPoint(
      'outbound',
      'web.default',
      () => recorded++,
      (r) => {
        outOptions.istio = r;
      },
    );
    const inb = new TapPoint(
      'inbound',
      'web.default',
      () => recorded++,
      (r) => {
        inOptions.istio = r;
      },
    );
    const hookOut = (x: RequestOutcome) => outOptions.istio?.(x);
    const hookIn = (x: RequestOutcome) => inOptions.istio?.(x);
    const hub = new TapHub([out, inb], () => ({ node: 'web-1' }));
    const seen: TapEvent[] = [];
    const leave = hub.subscribe({
      filter: parseTapFilter(new URLSearchParams('direction=outbound&path=/r')),
      deliver: (e) => seen.push(e),
    });
    assert.equal(out.active, true);
    assert.equal(inb.active, false, 'an outbound-only subscriber does not tap inbound');
    hookOut(outcome());
    hookOut(outcome({ downstreamSocket: { method: 'GET', url: '/other', headers: {} } }));
    hookIn(outcome());
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
    hookOut(outcome());
    assert.equal(seen.length, 1);
  });

  it('names the inbound caller by its SPIFFE identity, or unknown without one', () => {
    const options = listener();
    const inb = new TapPoint(
      'inbound',
      'api.default',
      () => {},
      (r) => {
        options.istio = r;
      },
    );
    const hub = new TapHub([inb], () => ({}));
    const seen: TapEvent[] = [];
    hub.subscribe({ filter: parseTapFilter(new URLSearchParams()), deliver: (e) => seen.push(e) });
    options.istio?.(outcome({ clusterName: 'inbound|8080||', flags: 'NR', status: 404 }));
    assert.equal(seen[0]?.source, 'unknown');
    assert.equal(seen[0]?.destination, 'api.default');
    assert.equal(seen[0]?.flags, 'NR');
    assert.equal(seen[0]?.status, 404);
  });
});
