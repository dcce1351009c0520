/**
 * Byte-level mutation of seed inputs, in the manner of AFL's havoc stage: a few random
 * edits per input (bit flips, "interesting" bytes, tokens from a protocol dictionary,
 * deletions, duplications, numbers swapped for boundary values, truncation). Seeds keep
 * the structure a parser must get through; the edits probe its edges.
 */
import type { SeededRandom } from '../support/seeded-random.js';

/** Bytes parsers treat specially: controls, separators, the top of the range. */
const INTERESTING_BYTES = [
  0x00, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x22, 0x2c, 0x3a, 0x3b, 0x7f, 0x80, 0xff,
];

/** Numbers at the edges of what length and size fields can hold. */
const INTERESTING_NUMBERS = [
  '0',
  '1',
  '-1',
  '+1',
  '00000000000000000001',
  '65535',
  '65536',
  '2147483647',
  '2147483648',
  '4294967296',
  '9007199254740993',
  '18446744073709551616',
  '1e3',
  '0x10',
  'ffffffff',
  'fffffffffffffffff',
  ' 1',
  '1 ',
];

export class Mutator {
  private readonly dictionary: readonly Buffer[];

  constructor(dictionary: readonly (string | Buffer)[]) {
    this.dictionary = dictionary.map((d) => (typeof d === 'string' ? Buffer.from(d, 'latin1') : d));
  }

  /** `input` with 1..maxEdits random edits. */
  mutate(rng: SeededRandom, input: Buffer, maxEdits = 4): Buffer {
    let out = input;
    const edits = rng.between(1, maxEdits);
    for (let i = 0; i < edits; i++) out = this.edit(rng, out);
    return out;
  }

  private edit(rng: SeededRandom, b: Buffer): Buffer {
    const at = rng.int(b.length + 1);
    switch (rng.int(9)) {
      case 0: {
        if (b.length === 0) return b;
        const out = Buffer.from(b);
        const i = Math.min(at, b.length - 1);
        out[i] ^= 1 << rng.int(8);
        return out;
      }
      case 1: {
        if (b.length === 0) return b;
        const out = Buffer.from(b);
        out[Math.min(at, b.length - 1)] = rng.pick(INTERESTING_BYTES);
        return out;
      }
      case 2:
      case 3:
        return Buffer.concat([b.subarray(0, at), rng.pick(this.dictionary), b.subarray(at)]);
      case 4:
        return Buffer.concat([
          b.subarray(0, at),
          b.subarray(Math.min(b.length, at + rng.between(1, 8))),
        ]);
      case 5: {
        const len = rng.between(1, 32);
        return Buffer.concat([
          b.subarray(0, at + len),
          b.subarray(at, at + len),
          b.subarray(at + len),
        ]);
      }
      case 6:
        return this.swapNumber(rng, b);
      case 7:
        return rng.chance(0.3) ? b.subarray(0, at) : b;
      default:
        return Buffer.concat([b.subarray(0, at), rng.bytes(rng.between(1, 4)), b.subarray(at)]);
    }
  }

  /** Replaces one run of hex digits with a boundary number. */
  private swapNumber(rng: SeededRandom, b: Buffer): Buffer {
    const text = b.toString('latin1');
    const runs = [...text.matchAll(/[0-9a-fA-F]+/g)];
    if (runs.length === 0) return b;
    const run = rng.pick(runs);
    const start = run.index ?? 0;
    return Buffer.concat([
      b.subarray(0, start),
      Buffer.from(rng.pick(INTERESTING_NUMBERS), 'latin1'),
      b.subarray(start + run[0].length),
    ]);
  }
}
