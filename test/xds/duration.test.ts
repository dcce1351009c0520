/**
 * The one google.protobuf.Duration conversion (src/xds/duration.ts) that every reader of a
 * Duration field uses, against the proto's rules for the message.
 */
import assert from 'node:assert/strict';
import {
  decodeMessage,
  durationFromMs,
  durationMs,
  encodeMessage,
  type envoy,
} from '../../src/xds/index.js';

const DURATION = 'google.protobuf.Duration';

describe('xds: Duration', () => {
  it('converts seconds and nanos to milliseconds; absent is undefined, {} is 0', () => {
    assert.equal(durationMs(undefined), undefined);
    assert.equal(durationMs(null), undefined);
    assert.equal(durationMs({}), 0);
    assert.equal(durationMs({ seconds: 2, nanos: 500_000_000 }), 2500);
    assert.equal(durationMs({ nanos: 250_000 }), 0.25);
  });

  it('is NaN for what is not a valid non-negative duration, so compilers can name the field', () => {
    for (const bad of [
      { seconds: -1 },
      { nanos: -1 },
      { seconds: 1, nanos: 1_000_000_000 },
      { seconds: 1.5 },
      { nanos: 0.5 },
      { seconds: Number.POSITIVE_INFINITY },
    ]) {
      assert.ok(Number.isNaN(durationMs(bad)), JSON.stringify(bad));
    }
  });

  it('reads what the codec decodes, and durationFromMs writes what it encodes', () => {
    for (const ms of [0, 1, 250, 1500, 90_000, 0.5]) {
      const bytes = encodeMessage(DURATION, durationFromMs(ms));
      const decoded = decodeMessage<envoy.Duration>(DURATION, bytes);
      // longs: Number, so seconds is a number (not the string proto3 JSON would use).
      if (decoded.seconds !== undefined) assert.equal(typeof decoded.seconds, 'number');
      assert.equal(durationMs(decoded), ms);
    }
  });
});
