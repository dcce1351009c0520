/**
 * Latencies in log-spaced buckets (1% wide), so a demo that runs for hours keeps a fixed
 * amount of memory and still reports p50 / p99 to within 1%.
 */

const MIN_MS = 0.01;
const GROWTH = 1.01;
/** Buckets from 0.01 ms to a little over 10 minutes. */
const BUCKETS = Math.ceil(Math.log(600_000 / MIN_MS) / Math.log(GROWTH)) + 1;

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private total = 0;

  get count(): number {
    return this.total;
  }

  record(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.ceil(Math.log(ms / MIN_MS) / Math.log(GROWTH));
    this.counts[Math.min(BUCKETS - 1, i)]++;
    this.total++;
  }

  /** The q-quantile (0..1) in ms: the upper bound of its bucket; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return MIN_MS * GROWTH ** i;
    }
    return MIN_MS * GROWTH ** (BUCKETS - 1);
  }
}
