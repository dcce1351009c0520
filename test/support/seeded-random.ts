/**
 * A seeded pseudo-random source for tests that generate their inputs (the fuzzing suite):
 * the same seed gives the same sequence on every machine, so a failure is reproduced by
 * its seed. sfc32 (Chris Doty-Humphrey's Small Fast Counter): 128 bits of state, fast in
 * 32-bit integer arithmetic, and good enough for test inputs (not for anything secret).
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Mix the seed in before the first output (the generator's authors' advice).
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A new source for item `n` of a run: case n's input does not depend on how many came before. */
  static forCase(seed: number, n: number): SeededRandom {
    return new SeededRandom(
      (Math.imul(seed >>> 0, 0x85ebca6b) ^ Math.imul(n + 1, 0xc2b2ae35)) >>> 0,
    );
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** `n` characters of [0-9a-z]. */
  word(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.int(36).toString(36);
    return s;
  }
}

export interface FuzzSettings {
  readonly seed: number;
  /** Time budget of each fuzz target, seconds. */
  readonly seconds: number;
}

/**
 * The fuzzing suite's settings: FERRY_FUZZ_SEED (an unsigned 32-bit integer; a fresh one
 * each run when unset, printed with every result) and FERRY_FUZZ_SECONDS (per target;
 * default 6, a few minutes in all being CI's budget).
 */
export function fuzzSettings(env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  const seedText = env.FERRY_FUZZ_SEED;
  const seed =
    seedText === undefined || seedText === ''
      ? Math.floor(Math.random() * 0x1_0000_0000)
      : Number(seedText);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff)
    throw new Error(`FERRY_FUZZ_SEED must be an integer 0..4294967295, got "${seedText}"`);
  const secondsText = env.FERRY_FUZZ_SECONDS;
  const seconds = secondsText === undefined || secondsText === '' ? 6 : Number(secondsText);
  if (!(seconds > 0))
    throw new Error(`FERRY_FUZZ_SECONDS must be a positive number, got "${secondsText}"`);
  return { seed, seconds };
}
