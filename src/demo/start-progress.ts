/**
 * What the demo says while it starts: each step as it completes, with the seconds since the
 * start, and every few seconds what it is still waiting for, so that a slow start on a busy
 * machine is visibly slow rather than silent.
 */

/** How often the steps still pending are listed. */
const STILL_WAITING_MS = 5000;

export class StartProgress {
  private readonly startedAt: number;
  private readonly pending = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly print: (line: string) => void,
    private readonly now: () => number = () => performance.now(),
    everyMs = STILL_WAITING_MS,
  ) {
    this.startedAt = now();
    this.timer = setInterval(() => this.stillWaiting(), everyMs);
    this.timer.unref();
  }

  private elapsed(): string {
    return `${((this.now() - this.startedAt) / 1000).toFixed(1)} s`;
  }

  /** A step begins: `what` is listed as pending until `done(what)`. */
  begin(what: string): void {
    this.pending.add(what);
  }

  /** A step is over; `text` says what came of it (default: `what`). */
  done(what: string, text = what): void {
    this.pending.delete(what);
    this.print(`  ${text} (${this.elapsed()})`);
  }

  /** A heading for the steps that follow. */
  stage(text: string): void {
    this.print(`${text} ...`);
  }

  private stillWaiting(): void {
    if (this.pending.size === 0) return;
    this.print(`  still waiting for: ${[...this.pending].join('; ')} (${this.elapsed()})`);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
