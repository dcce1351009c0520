import assert from 'node:assert/strict';
import { EdfScheduler } from '../../../src/proxy/lb/edf-scheduler.js';

function run(weights: number[], picks: number): number[] {
  const s = new EdfScheduler(weights);
  const out: number[] = [];
  for (let i = 0; i < picks; i++) {
    const item = s.peek();
    out.push(item);
    s.advance(weights[item]!);
  }
  return out;
}

describe('lb: EdfScheduler', () => {
  it('gives each item its weighted share, exactly over a full period', () => {
    const picks = run([5, 3, 2], 1000);
    const counts = [0, 0, 0];
    for (const p of picks) counts[p]!++;
    assert.deepEqual(counts, [500, 300, 200]);
  });

  it('interleaves 90:10 instead of bursting', () => {
    const picks = run([90, 10], 1000);
    let run9 = 0;
    let longest = 0;
    for (let i = 0; i < picks.length; i++) {
      if (picks[i] === 0) longest = Math.max(longest, ++run9);
      else {
        run9 = 0;
        assert.notEqual(picks[i - 1], 1, `light item picked twice in a row at ${i}`);
      }
    }
    assert.ok(longest <= 10, `heavy item ran ${longest} times in a row`);
  });

  it('round-robins equal weights in insertion order', () => {
    assert.deepEqual(run([1, 1, 1], 7), [0, 1, 2, 0, 1, 2, 0]);
  });

  it('follows a changed weight from the next reschedule on', () => {
    const s = new EdfScheduler([1, 1]);
    const counts = [0, 0];
    for (let i = 0; i < 1000; i++) {
      const item = s.peek();
      counts[item]!++;
      s.advance(item === 0 ? 4 : 1);
    }
    assert.ok(Math.abs(counts[0]! - 800) <= 2, `${counts}`);
  });
});
