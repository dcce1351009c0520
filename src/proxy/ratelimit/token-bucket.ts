/**
 * A token bucket as Envoy's type.v3.TokenBucket describes it: it starts full with
 * `maxTokens`; every `fillIntervalMs`, `tokensPerFill` tokens are added, never more than
 * `maxTokens` held; each request takes one token, and is limited when there is none.
 * Refills are computed from the clock when a token is asked for (no timer), in whole fill
 * intervals since the last one, so the bucket holds exactly what a timer would have put in.
 * Allocation-free.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/type/v3/token_bucket.proto
 */
export class TokenBucket {
  private tokens: number;
  private lastFill: number;

  constructor(
    readonly maxTokens: number,
    readonly tokensPerFill: number,
    readonly fillIntervalMs: number,
    /** The clock's reading (ms) when the bucket is made: fill intervals count from it. */
    now: number,
  ) {
    this.tokens = maxTokens;
    this.lastFill = now;
  }

  /** Takes a token at time `now` (ms, the same clock as at construction); false when empty. */
  tryTake(now: number): boolean {
    const elapsed = now - this.lastFill;
    // A clock that goes back refills nothing (and does not move the fill schedule).
    if (elapsed >= this.fillIntervalMs) {
      const fills = Math.floor(elapsed / this.fillIntervalMs);
      this.tokens = Math.min(this.maxTokens, this.tokens + fills * this.tokensPerFill);
      this.lastFill += fills * this.fillIntervalMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens left at the last refill or take (for admin pages and tests). */
  get available(): number {
    return this.tokens;
  }
}
