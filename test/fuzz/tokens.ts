/**
 * Case tokens: every fuzz case and every canary puts its own token in the request-target,
 * and upstreams echo the target back. A response carrying another exchange's token on a
 * connection is a desync (a response that belongs to a request this client never made).
 */
import type { SeededRandom } from '../support/seeded-random.js';

const TOKEN = /t[kc][0-9a-z]{10}/g;

export class Tokens {
  private readonly issued = new Set<string>();

  /** A token for fuzz case input. */
  forCase(rng: SeededRandom): string {
    const t = `tk${rng.word(10)}`;
    this.issued.add(t);
    return t;
  }

  /** The token of canary n (negative n: the warm-up canaries). */
  forCanary(n: number): string {
    const t = `tc${(n < 0 ? 36 ** 9 - n : n).toString(36).padStart(10, '0')}`;
    this.issued.add(t);
    return t;
  }

  /** The first token in `text` that was issued to an exchange other than `mine`. */
  foreign(text: string, mine: string): string | undefined {
    for (const m of text.matchAll(TOKEN)) if (m[0] !== mine && this.issued.has(m[0])) return m[0];
    return undefined;
  }
}
