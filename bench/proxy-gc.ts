/**
 * `npm run bench -- --trace-gc`: the sidecars run under `node --trace-gc`, and each of their
 * GC lines is noted with the moment it arrived (CLOCK_MONOTONIC, as the phase windows), so
 * that the collections of a phase can be counted per 10,000 requests and their pauses
 * summed. Counts per request and pause lengths depend on what the process allocates and
 * keeps, not on how busy the machine is, which makes them the evidence that holds on a
 * loaded machine where latency percentiles do not.
 */

/** One collection: its kind and its pause on the main thread, in ms. */
export interface GcEvent {
  /** When its line arrived (CLOCK_MONOTONIC µs). */
  readonly atUs: number;
  /** V8's own stamp: ms since the isolate started, printed as the collection ends. */
  readonly stampMs: number;
  readonly kind: 'scavenge' | 'mark-compact' | 'other';
  readonly pauseMs: number;
}

// "[pid:0x..]   1069 ms: Scavenge 4.3 (5.1) -> 3.9 (6.1) MB, 0.84 / 0.00 ms  (average mu ..."
// (Node 22+ prints "pooled: N MB" and a different mu; the pause is the first number in ms.)
const GC_LINE =
  /(\d+) ms: ([A-Za-z -]+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB,(?:[^,]*,)*? ([\d.]+) \/ [\d.]+ ms/;

/** The GC event of a --trace-gc line, or undefined for any other line. */
export function parseGcLine(line: string, atUs: number): GcEvent | undefined {
  const m = GC_LINE.exec(line);
  if (!m) return undefined;
  const name = m[2]!.trim();
  const kind =
    name === 'Scavenge' ? 'scavenge' : /Mark-(Compact|Sweep)/.test(name) ? 'mark-compact' : 'other';
  return { atUs, stampMs: Number(m[1]), kind, pauseMs: Number(m[3]) };
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** A line about the collections in [fromUs, toUs) for `requests` requests served then. */
export function gcSummary(
  events: readonly GcEvent[],
  fromUs: number,
  toUs: number,
  requests: number,
): string {
  const inside = events.filter((e) => e.atUs >= fromUs && e.atUs < toUs);
  const per10k = (n: number) => ((n / Math.max(1, requests)) * 10_000).toFixed(1);
  const parts: string[] = [];
  for (const kind of ['scavenge', 'mark-compact', 'other'] as const) {
    const pauses = inside
      .filter((e) => e.kind === kind)
      .map((e) => e.pauseMs)
      .sort((a, b) => a - b);
    if (pauses.length === 0) continue;
    const sum = pauses.reduce((s, p) => s + p, 0);
    parts.push(
      `${pauses.length} ${kind} (${per10k(pauses.length)}/10k req), pause p50 ${quantile(pauses, 0.5).toFixed(2)} ` +
        `p90 ${quantile(pauses, 0.9).toFixed(2)} max ${pauses[pauses.length - 1]!.toFixed(2)} ms, ${sum.toFixed(1)} ms in all`,
    );
  }
  return parts.length ? parts.join('; ') : 'no collections';
}

/**
 * Which of the slowest requests (CLOCK_MONOTONIC µs [sent, answered], from proxy-load.ts)
 * were under way while the proxy collected garbage. A line's V8 stamp is whole ms since the
 * isolate started; the offset to CLOCK_MONOTONIC is the smallest (arrival - stamp), since a
 * line arrives after it is printed, and each pause is widened by the stamp's rounding
 * (0.5 ms either side). `expected` is the share a request of the same length sent at a
 * random moment would meet: if `share` is well above it, the pauses make the tail.
 */
export function gcOverlap(
  events: readonly GcEvent[],
  slow: readonly (readonly [number, number])[],
): { slow: number; met: number; share: number; expected: number } | undefined {
  if (events.length === 0 || slow.length === 0) return undefined;
  let offset = Number.POSITIVE_INFINITY;
  for (const e of events) offset = Math.min(offset, e.atUs - e.stampMs * 1000);
  const from = slow.reduce((m, s) => Math.min(m, s[0]), Number.POSITIVE_INFINITY);
  const to = slow.reduce((m, s) => Math.max(m, s[1]), from);
  const pauses = events
    .map((e) => {
      const end = e.stampMs * 1000 + offset + 500;
      return [end - e.pauseMs * 1000 - 1000, end] as const;
    })
    .filter(([a, b]) => b >= from && a <= to);
  let met = 0;
  let length = 0;
  for (const [a, b] of slow) {
    length += b - a;
    if (pauses.some(([pa, pb]) => pa < b && pb > a)) met++;
  }
  const mean = length / slow.length;
  const covered = pauses.reduce((sum, [a, b]) => sum + (b - a) + mean, 0);
  return {
    slow: slow.length,
    met,
    share: met / slow.length,
    expected: Math.min(1, covered / Math.max(1, to - from)),
  };
}
