import assert from 'node:assert/strict';
import { computePriorityLoad } from '../../../src/proxy/lb/index.js';

/** Levels of 100 hosts each, with the given healthy percents. */
function loadOf(healthyPercents: number[], threshold = 50, factor = 140) {
  return computePriorityLoad(
    healthyPercents.map((healthy) => ({ healthy, total: 100 })),
    factor,
    threshold,
  );
}

describe('lb: priority load (Envoy priority levels)', () => {
  it('spills from P=0 to a healthy P=1 by the overprovisioning factor 1.4', () => {
    // The table of Envoy's priority-levels page.
    for (const [p0, expected] of [
      [100, [100, 0]],
      [72, [100, 0]],
      [71, [99, 1]],
      [50, [70, 30]],
      [25, [35, 65]],
      [0, [0, 100]],
    ] as const) {
      assert.deepEqual(loadOf([p0, 100]).load, expected, `P=0 ${p0}% healthy`);
    }
  });

  it('normalizes when the levels together are short of 100', () => {
    assert.deepEqual(loadOf([71, 71]).load, [99, 1]);
    assert.deepEqual(loadOf([50, 50]).load, [70, 30]);
    assert.deepEqual(loadOf([25, 100]).load, [35, 65]);
    assert.deepEqual(loadOf([25, 25, 100]).load, [35, 35, 30]);
    // health {35, 35, 28}, normalized 98: ⌊35.7⌋, ⌊35.7⌋, ⌊28.6⌋, and the rounding rest to P=0.
    assert.deepEqual(loadOf([25, 25, 20], 0).load, [37, 35, 28]);
  });

  it('enters panic only below the threshold and below 100% normalized health', () => {
    // Enough health overall: no panic, however sick P=0 is.
    const spare = loadOf([10, 100]);
    assert.deepEqual(spare.panic, [false, false]);
    assert.deepEqual(spare.load, [14, 86]);
    // Short overall: P=0 (5% < 50%) panics, P=1 (65%) does not.
    const short = loadOf([5, 65]);
    assert.equal(short.normalizedTotalHealth, 98);
    assert.deepEqual(short.panic, [true, false]);
    assert.deepEqual(short.load, [8, 92]);
  });

  it('spreads load by host count in total panic', () => {
    const one = loadOf([40]);
    assert.deepEqual([one.load, one.panic], [[100], [true]]);
    const uneven = computePriorityLoad(
      [
        { healthy: 0, total: 10 },
        { healthy: 3, total: 30 },
      ],
      140,
      50,
    );
    assert.deepEqual(uneven.panic, [true, true]);
    assert.deepEqual(uneven.load, [25, 75]);
    const empty = computePriorityLoad([{ healthy: 0, total: 0 }], 140, 50);
    assert.deepEqual([empty.load, empty.panic], [[100], [true]]);
  });

  it('with panic disabled and nothing healthy, sends all load to P=0 without panic', () => {
    const none = loadOf([0, 0], 0);
    assert.deepEqual(
      [none.load, none.panic],
      [
        [100, 0],
        [false, false],
      ],
    );
  });

  it('uses the assignment’s overprovisioning factor', () => {
    assert.deepEqual(loadOf([80, 100], 50, 100).load, [80, 20]);
  });
});
