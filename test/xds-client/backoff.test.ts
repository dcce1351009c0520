import assert from 'node:assert/strict';
import { Backoff } from '../../src/xds-client/backoff.js';

describe('backoff', () => {
  it('draws each delay below a doubling cap, up to maxMs, and starts over after reset', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.5 });
    assert.deepEqual(
      Array.from({ length: 6 }, () => b.next()),
      [50, 100, 200, 400, 500, 500],
    );
    b.reset();
    assert.equal(b.next(), 50);
  });

  it('uses the whole range (full jitter)', () => {
    assert.equal(new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 }).next(), 0);
    assert.equal(new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999 }).next(), 99);
  });
});
