/**
 * Reconnect delays: exponential backoff with full jitter (a uniformly random delay up to
 * the exponential cap), so that many sidecars losing one control plane do not come back
 * in lockstep. https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** A number in [0, 1), like Math.random. */
  readonly random: () => number;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** The delay before the next attempt; each call doubles the cap up to maxMs. */
  next(): number {
    const { baseMs, maxMs, random } = this.options;
    const cap = Math.min(maxMs, baseMs * 2 ** this.attempt);
    if (cap < maxMs) this.attempt++;
    return Math.floor(random() * cap);
  }

  /** After a healthy connection the next failure starts from baseMs again. */
  reset(): void {
    this.attempt = 0;
  }
}
