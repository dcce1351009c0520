import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { DURATION_PATTERN, MESH_SCHEMA, parseDuration } from '../../src/mesh/index.js';

describe('parseDuration', () => {
  it('reads each unit', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('2s'), 2000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('0s'), 0);
  });

  it('adds up terms, as Go does', () => {
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1h1m1s1ms'), 3_661_001);
  });

  it('rounds away binary floating-point noise', () => {
    assert.equal(parseDuration('1.1s'), 1100);
    assert.equal(parseDuration('0.5ms'), 0.5);
  });

  it('rejects what is not a duration', () => {
    for (const s of ['', '5', '1.5', 's', '-1s', '1 s', '1sec', '1d', '.5s', '1.s', 'ms']) {
      assert.equal(parseDuration(s), undefined, s);
    }
  });

  it('agrees with the schema pattern', () => {
    const definitions = MESH_SCHEMA.definitions as Record<string, { pattern: string }>;
    assert.equal(definitions.duration.pattern, DURATION_PATTERN.source);
  });
});
