/** What the traffic generator saw over a period: outcomes, reviews versions, latency. */
import { LatencyHistogram } from './latency-histogram.js';

export interface Outcome {
  /** HTTP status, or 0 when no response came (connection refused, reset, timeout). */
  readonly status: number;
  readonly ms: number;
  /** The reviews version named in frontend's answer, if any. */
  readonly reviewsVersion: string | undefined;
  /**
   * The gateway's x-ferry-response-flags (Envoy's %RESPONSE_FLAGS%: UO, UF, UT, URX ...), if
   * any: a failure counted as `503 UO` says which limit or fault it met, not only that it failed.
   */
  readonly flags?: string;
}

export class TrafficStats {
  requests = 0;
  ok = 0;
  /** Failures by status and response flags ("502", "503 UF,URX") or "no response". */
  readonly failures = new Map<string, number>();
  /** Successful answers by reviews version. */
  readonly versions = new Map<string, number>();
  readonly latency = new LatencyHistogram();

  constructor(readonly startedAt: number) {}

  record(o: Outcome): void {
    this.requests++;
    this.latency.record(o.ms);
    if (o.status === 200) {
      this.ok++;
      if (o.reviewsVersion) {
        this.versions.set(o.reviewsVersion, (this.versions.get(o.reviewsVersion) ?? 0) + 1);
      }
    } else {
      const key =
        o.status === 0 ? 'no response' : o.flags ? `${o.status} ${o.flags}` : String(o.status);
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    }
  }
}

/**
 * One line, e.g. `40 requests in 2.0 s, 100.0% ok, reviews v1 32 (80%) v2 8 (20%),
 * p50 3.1 ms, p99 9.8 ms`. `label` starts the line ("traffic" or "total").
 */
export function formatTrafficStats(label: string, s: TrafficStats, now: number): string {
  const seconds = Math.max(0, now - s.startedAt) / 1000;
  const okPct = s.requests === 0 ? '0.0' : ((100 * s.ok) / s.requests).toFixed(1);
  const versioned = [...s.versions.values()].reduce((a, b) => a + b, 0);
  const versions = [...s.versions.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([v, n]) => `${v} ${n} (${Math.round((100 * n) / versioned)}%)`)
    .join(' ');
  const failures = [...s.failures.entries()].map(([k, n]) => `${k} x${n}`).join(', ');
  return (
    `${label}: ${s.requests} requests in ${seconds.toFixed(1)} s, ${okPct}% ok, ` +
    `reviews ${versions || '-'}, ` +
    `p50 ${formatMs(s.latency.quantile(0.5))}, p99 ${formatMs(s.latency.quantile(0.99))}` +
    (failures ? `, failed: ${failures}` : '')
  );
}

function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}
