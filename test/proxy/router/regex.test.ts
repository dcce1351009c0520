/** RE2 patterns as the router compiles them: whole-input matches, RE2's own syntax and limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { compileFullMatchRegex } from '../../../src/proxy/router/string-matcher.js';
import type { Re2Regex } from '../../../src/regex/index.js';

function re(pattern: string): Re2Regex {
  const r = compileFullMatchRegex(pattern);
  if (!r.ok) assert.fail(r.error);
  return r.regex;
}

function error(pattern: string): string {
  const r = compileFullMatchRegex(pattern);
  if (r.ok) assert.fail(`${pattern} compiled`);
  return r.error;
}

describe('router: RE2 patterns', () => {
  it('matches the whole input, even with alternation', () => {
    assert.ok(re('a|b').test('a'));
    assert.ok(!re('a|b').test('ab'));
    assert.ok(!re('/v1').test('/v1/x'));
  });

  it('takes RE2 inline flags, scoped so the anchors stay whole-input', () => {
    assert.ok(re('(?i)/API/.*').test('/api/x'));
    assert.ok(re('(?s)a.b').test('a\nb'));
    assert.ok(!re('(?m)a$').test('a\nb'), '(?m) does not let the match end early');
    assert.ok(re('(?U)a+').test('aaa'));
  });

  it('speaks RE2: named groups, \\A, \\z, \\pL, POSIX classes, \\Q...\\E', () => {
    assert.ok(re('(?P<ver>v[0-9]+)/.*').test('v2/x'));
    assert.ok(re('\\A/x\\z').test('/x'));
    assert.ok(re('\\pL+').test('héllo'));
    assert.ok(re('[[:digit:]]+-[[:alpha:][:digit:]]+').test('12-ab3'));
    assert.ok(!re('[[:digit:]]+').test('12a'));
    assert.ok(re('[]a]+').test(']a]'));
    assert.ok(re('\\Qa.b\\E').test('a.b'));
    assert.ok(!re('\\Qa.b\\E').test('axb'));
  });

  it('refuses what RE2 refuses, with its reason', () => {
    assert.match(error('(a)\\1'), /not valid RE2: invalid escape sequence: \\1/);
    assert.match(error('a(?=b)'), /not valid RE2: invalid perl operator: \(\?=/);
    assert.match(error('[[:nope:]]'), /not valid RE2/);
    assert.match(error(''), /empty/);
    assert.match(error('(a'), /not valid RE2: missing \)/);
  });

  it('regression (issue 12): (a+)+b runs in linear time, so 1 MB of input is answered, correctly', () => {
    // V8's backtracking engine takes seconds on 29 bytes of this; RE2 cannot backtrack.
    const r = re('(a+)+b');
    for (const n of [29, 30, 1 << 20]) {
      assert.equal(r.test(`${'a'.repeat(n)}c`), false, `${n} a's and no b`);
      assert.equal(r.test(`${'a'.repeat(n)}b`), true, `${n} a's and a b`);
    }
  });

  it('substitutes every occurrence for regex_rewrite, with $1 groups, reusably', () => {
    const r = compileFullMatchRegex('/v([0-9]+)/', true);
    if (!r.ok) assert.fail(r.error);
    assert.equal('/v1/x/v2/'.replace(r.regex, '/w$1/'), '/w1/x/w2/');
    assert.equal('/v3/'.replace(r.regex, '/w$1/'), '/w3/', 'no state kept between calls');
  });
});
