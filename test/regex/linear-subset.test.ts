/**
 * Which patterns run on V8 (linear-subset.ts) and which on RE2: V8 only where it cannot
 * backtrack beyond a constant per character and means what RE2 means. Each V8-run pattern
 * is checked against RE2 itself on inputs chosen to tell them apart.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { compileRe2 } from '../../src/regex/index.js';
import { linearJsSource } from '../../src/regex/linear-subset.js';

const { RE2 } = createRequire(import.meta.url)('re2-wasm') as {
  RE2: new (p: string, f: string) => { test(s: string): boolean };
};

const ON_V8 = [
  '/api/.*',
  '/v[0-9]+',
  'a|b',
  '/users/[0-9]{1,5}',
  '(/a|/b)/.*',
  '(?:x|y)z?\\.json',
  '[^/]+/x',
  '\\d\\w\\W\\D-x',
  '/api/v[0-9]+/.*', // [0-9]+ can only stop at the /
  '/users/[^/]+/orders/[^/]+',
  'a+b[0-9]*',
];

const ON_RE2 = [
  '(a+)+b', // a quantified group
  '/api/.*/v[0-9]+', // an unbounded quantifier that can stop anywhere, then another
  'a.*b.*',
  '[0-9]+[0-9]+x', // [0-9]+ followed by no literal
  'a+a+', // a+ followed by what it matches
  '[0-9]+/?.*', // the literal after it is optional
  'a+b+c*', // conservative: b is quantified, so a+ does not count as deterministic
  '(ab)*',
  'a{1,1000}', // too many input-independent choices
  '(?i)abc', // flags
  '\\s+', // \s differs between the engines
  '[[:alpha:]]+',
  '[]a]', // RE2: a class with ]; V8: an empty class
  'a*?',
  'a{2',
  '\\bword',
  'a(?=b)',
];

const INPUTS = [
  '',
  'a',
  'ab',
  '/api/x',
  '/api/x\ny',
  '/api/x\ry',
  '/v12',
  '/users/123',
  '/a/😀',
  'x.json',
  'xz.json',
  'q/x',
  '1a!2-x',
  '/b/é',
];

describe('regex: the linear subset that runs on V8', () => {
  it('takes simple patterns whose unbounded quantifiers, but the last, can stop in one place only', () => {
    for (const p of ON_V8) assert.notEqual(linearJsSource(p), undefined, p);
  });

  it('leaves to RE2 what could backtrack, and what the engines read differently', () => {
    for (const p of ON_RE2) assert.equal(linearJsSource(p), undefined, p);
  });

  it('matches exactly as RE2 does on the patterns it takes', () => {
    for (const p of ON_V8) {
      const ours = compileRe2(p);
      if (!ours.ok) assert.fail(ours.error);
      assert.ok(ours.regex instanceof RegExp, `${p} runs on V8`);
      const re2 = new RE2(`^(?:${p})$`, 'u');
      for (const input of INPUTS)
        assert.equal(ours.regex.test(input), re2.test(input), `${p} on ${JSON.stringify(input)}`);
    }
  });

  it('V8-run patterns stay linear on adversarial input (100,000-character runs), and answer right', () => {
    const long = (c: string) => c.repeat(100_000);
    const cases: Array<[string, string, boolean]> = [
      ['/api/v[0-9]+/.*x', `/api/v${long('9')}/${long('a')}`, false],
      ['/api/v[0-9]+/.*x', `/api/v${long('9')}/${long('a')}x`, true],
      ['[^/]+/[^/]+/x', `${long('a')}/${long('b')}/y`, false],
      ['a+b.*c', `${long('a')}b${long('a')}`, false],
    ];
    for (const [p, input, expected] of cases) {
      const r = compileRe2(p);
      if (!r.ok) assert.fail(r.error);
      assert.ok(r.regex instanceof RegExp, `${p} runs on V8`);
      assert.equal(r.regex.test(input), expected, p);
    }
  });

  it('runs the others on RE2, so even (a+)+b is linear', () => {
    const r = compileRe2('(a+)+b');
    if (!r.ok) assert.fail(r.error);
    assert.equal(r.regex instanceof RegExp, false);
    assert.equal(r.regex.test(`${'a'.repeat(100_000)}c`), false);
  });
});
