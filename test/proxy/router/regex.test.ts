/** RE2 patterns as the router compiles them into JS: whole-input matches, RE2 spellings. */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { compileFullMatchRegex } from '../../../src/proxy/router/string-matcher.js';

function re(pattern: string): RegExp {
  const r = compileFullMatchRegex(pattern);
  if (!r.ok) assert.fail(r.error);
  return r.regex;
}

function error(pattern: string): string {
  const r = compileFullMatchRegex(pattern);
  if (r.ok) assert.fail(`${pattern} compiled`);
  return r.error;
}

describe('router: RE2 patterns in JS', () => {
  it('matches the whole input, even with alternation', () => {
    assert.ok(re('a|b').test('a'));
    assert.ok(!re('a|b').test('ab'));
    assert.ok(!re('/v1').test('/v1/x'));
  });

  it('turns a leading (?i) or (?s) into flags', () => {
    assert.ok(re('(?i)/API/.*').test('/api/x'));
    assert.ok(re('(?s)a.b').test('a\nb'));
    assert.match(error('(?U)a+'), /inline flag U/);
  });

  it('translates named groups, \\A, \\z, \\pL and POSIX classes', () => {
    assert.ok(re('(?P<ver>v[0-9]+)/.*').test('v2/x'));
    assert.ok(re('\\A/x\\z').test('/x'));
    assert.ok(re('\\pL+').test('héllo'));
    assert.ok(re('[[:digit:]]+-[[:alpha:][:digit:]]+').test('12-ab3'));
    assert.ok(!re('[[:digit:]]+').test('12a'));
    assert.ok(re('[]a]+').test(']a]'));
    assert.ok(re('[^]a]+').test('bc'));
  });

  it('refuses what it cannot translate rather than changing its meaning', () => {
    assert.match(error('\\Qa.b\\E'), /\\Q is not supported/);
    assert.match(error('[[:nope:]]'), /\[:nope/);
    assert.match(error(''), /empty/);
    assert.match(error('(a'), /does not compile/);
  });
});
