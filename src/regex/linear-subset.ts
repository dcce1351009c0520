/**
 * The patterns V8's backtracking engine provably runs in linear time, with the same meaning
 * as RE2's, so they need not pay for RE2 in WebAssembly (about 15-40 µs per match against
 * well under 1 µs; see README). A pattern qualifies when, read as RE2 and as a JS `u`
 * regex, it means the same and cannot make V8 backtrack more than a constant per input
 * character:
 * - only literals, `.`, classes of literals and ranges, `\d \D \w \W`, escaped punctuation,
 *   groups, alternation and the anchors `^ $`; no flags, no `\s`, `\b`, `\p`, POSIX classes,
 *   lookaround or backreferences (RE2 has none; V8 differs on some);
 * - quantifiers only on a single-character atom, never on a group; of the unbounded ones
 *   (`*`, `+`, `{n,}`) every one but the last must be deterministic — followed at once by
 *   a literal character the atom cannot match, as `[0-9]+/`, so that only one length of it
 *   can ever lead on and backing off costs one comparison a character — and the last may
 *   be anything: a backtracking matcher then tries at most n+1 lengths for it, each
 *   followed by a part of bounded length;
 * - the choices that do not depend on the input (alternatives, `?`, `{n,m}`) multiply to at
 *   most MAX_BRANCHING.
 * Anything else goes to RE2. `.` becomes `[^\n]`, which is RE2's `.` (V8's also refuses
 * \r, U+2028 and U+2029).
 */

/** Most input-independent choices a qualifying pattern may have in total. */
const MAX_BRANCHING = 256;

/** RE2's limit on a repetition count. */
const MAX_REPEAT = 1000;

const SAFE_ESCAPES = new Set(['d', 'D', 'w', 'W', 't', 'n', 'r', 'f', 'v']);

function isPunctuation(c: string): boolean {
  return /^[!-/:-@[-`{-~]$/.test(c);
}

/**
 * The V8 source (to anchor and compile with the `u` flag) of a pattern in the linear
 * subset, or undefined when it is not in it.
 */
export function linearJsSource(pattern: string): string | undefined {
  let out = '';
  /** Unbounded quantifiers that are not deterministic, and whether one came after them. */
  let free = 0;
  let unboundedAfterFree = false;
  let branching = 1;
  /** The JS source of the last single-character atom read. */
  let atomSource = '';
  /** Alternatives in each open group (the outermost is the pattern itself). */
  const alternatives: number[] = [1];
  /** Whether the last thing read is a single-character atom a quantifier may follow. */
  let atom = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined || !(SAFE_ESCAPES.has(n) || isPunctuation(n))) return undefined;
      atomSource = `\\${n}`;
      out += atomSource;
      i++;
      atom = true;
      continue;
    }
    if (c === '[') {
      const end = readClass(pattern, i);
      if (end === undefined) return undefined;
      atomSource = pattern.slice(i, end + 1);
      out += atomSource;
      i = end;
      atom = true;
      continue;
    }
    if (c === '.') {
      atomSource = '[^\\n]';
      out += atomSource;
      atom = true;
      continue;
    }
    if (c === '(') {
      // Plain or non-capturing groups only: no flags, lookaround or named groups.
      if (pattern[i + 1] === '?') {
        if (pattern[i + 2] !== ':') return undefined;
        out += '(?:';
        i += 2;
      } else out += '(';
      alternatives.push(1);
      atom = false;
      continue;
    }
    if (c === ')') {
      if (alternatives.length === 1) return undefined;
      branching *= alternatives.pop() as number;
      out += ')';
      // A quantifier on a group is what makes backtracking explode: not in the subset.
      atom = false;
      if (isQuantifierStart(pattern, i + 1)) return undefined;
      continue;
    }
    if (c === '|') {
      alternatives[alternatives.length - 1]++;
      out += '|';
      atom = false;
      continue;
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      if (!atom) return undefined;
      const q = readQuantifier(pattern, i);
      if (!q) return undefined;
      if (q.max === undefined) {
        if (free > 0) unboundedAfterFree = true;
        if (!deterministic(atomSource, pattern, q.end + 1)) free++;
      } else branching *= q.max - q.min + 1;
      out += pattern.slice(i, q.end + 1);
      i = q.end;
      // Lazy and possessive forms, and a quantifier on a quantifier, are out.
      if (isQuantifierStart(pattern, i + 1)) return undefined;
      atom = false;
      continue;
    }
    if (c === '^' || c === '$') {
      out += c;
      atom = false;
      continue;
    }
    if (c === '}' || c === ']') return undefined;
    atomSource = c;
    out += c;
    atom = true;
  }
  if (alternatives.length !== 1) return undefined;
  branching *= alternatives[0] as number;
  if (free > 1 || unboundedAfterFree || branching > MAX_BRANCHING) return undefined;
  return out;
}

/**
 * Whether an unbounded quantifier on `atom` that ends before `next` is deterministic: the
 * pattern goes on with a literal character, not itself quantified, that the atom cannot
 * match — so the quantifier can only stop right before it.
 */
function deterministic(atom: string, pattern: string, next: number): boolean {
  let literal: string | undefined;
  let after = next + 1;
  const c = pattern[next];
  if (c === undefined) return false;
  if (c === '\\') {
    const n = pattern[next + 1];
    if (n === undefined || !isPunctuation(n)) return false;
    literal = n;
    after = next + 2;
  } else if (!'[](){}.*+?^$|'.includes(c)) literal = c;
  if (literal === undefined || isQuantifierStart(pattern, after)) return false;
  try {
    return !new RegExp(`^(?:${atom})$`, 'u').test(literal);
  } catch {
    return false;
  }
}

function isQuantifierStart(pattern: string, i: number): boolean {
  const c = pattern[i];
  return c === '*' || c === '+' || c === '?' || c === '{';
}

/** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` at i: its bounds and last index. */
function readQuantifier(
  pattern: string,
  i: number,
): { min: number; max: number | undefined; end: number } | undefined {
  const c = pattern[i];
  if (c === '*') return { min: 0, max: undefined, end: i };
  if (c === '+') return { min: 1, max: undefined, end: i };
  if (c === '?') return { min: 0, max: 1, end: i };
  const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(pattern.slice(i));
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
  if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) return undefined;
  return { min, max, end: i + m[0].length - 1 };
}

/**
 * The index of the `]` closing the class opened at i, when the class holds only literals,
 * ranges and safe escapes (a leading `]`, which RE2 takes as a literal and V8 as an empty
 * class, POSIX classes and nested `[` are out).
 */
function readClass(pattern: string, i: number): number | undefined {
  let j = i + 1;
  if (pattern[j] === '^') j++;
  if (pattern[j] === ']') return undefined;
  for (; j < pattern.length; j++) {
    const c = pattern[j];
    if (c === ']') return j;
    if (c === '[') return undefined;
    if (c === '\\') {
      const n = pattern[j + 1];
      if (n === undefined || !(SAFE_ESCAPES.has(n) || isPunctuation(n))) return undefined;
      j++;
    }
  }
  return undefined;
}
