/**
 * Polls every sidecar's /stats/prometheus and keeps, per sidecar, what it counted in the
 * last window (a bounded ring of deltas between scrapes). Each target is scraped on its
 * own with a timeout, so one that is down or slow never delays the others; a target that
 * has not answered for `staleAfterMs` stops counting, and a target that goes away is
 * forgotten.
 */
import type { Logger } from '../log/index.js';
import { computeMeshStats, type MeshStats } from './mesh-stats.js';
import { parsePrometheusText } from './prometheus-text.js';
import type { ScrapeTarget, TargetSource } from './scrape-target.js';
import { type Delta, delta, isDashboardMetric, type Reading, toReading } from './series-delta.js';

export interface ScraperOptions {
  readonly targets: TargetSource;
  /** Between scrapes of a target. Default 5000 ms. */
  readonly intervalMs?: number;
  /** A scrape that takes longer is abandoned. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** The window rates and quantiles cover. Default 30000 ms. */
  readonly windowMs?: number;
  /** No answer for this long: the target's counts are dropped. Default 3 intervals. */
  readonly staleAfterMs?: number;
  /** A metrics page larger than this is refused. Default 8 MiB. */
  readonly maxBytes?: number;
  /** Clock, ms. Default Date.now. */
  readonly now?: () => number;
  readonly log?: Logger;
}

export type ScrapeHealth = 'up' | 'down' | 'stale' | 'pending';

export interface TargetStatus extends ScrapeTarget {
  readonly health: ScrapeHealth;
  readonly lastScrape: string | undefined;
  readonly lastError: string | undefined;
  readonly series: number;
}

interface TargetState {
  target: ScrapeTarget;
  last: Reading | undefined;
  deltas: Delta[];
  lastOkAt: number | undefined;
  lastError: string | undefined;
  inFlight: boolean;
}

/** An endpoint one sidecar does not send to, and why (outlier_ejected, failed_health_check...). */
export interface EndpointVerdict {
  /** The sidecar that says so (its node id). */
  readonly sidecar: string;
  /** `outbound|PORT|SUBSET|HOST`. */
  readonly cluster: string;
  /** `address:port`. */
  readonly endpoint: string;
  readonly reason: string;
}

/** Where the dashboard's numbers come from (the sidecars, or Prometheus). */
export interface StatsSource {
  stats(): Promise<MeshStats>;
  targets(): readonly TargetStatus[];
  /** Endpoints the sidecars do not send to, from their last scrape (when known). */
  endpointVerdicts?(): readonly EndpointVerdict[];
}

export class MetricsScraper implements StatsSource {
  private readonly state = new Map<string, TargetState>();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly windowMs: number;
  private readonly staleAfterMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(private readonly options: ScraperOptions) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.windowMs = options.windowMs ?? 30_000;
    this.staleAfterMs = options.staleAfterMs ?? 3 * this.intervalMs;
    this.maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.now = options.now ?? Date.now;
  }

  endpointVerdicts(): readonly EndpointVerdict[] {
    const out: EndpointVerdict[] = [];
    const now = this.now();
    for (const s of this.state.values()) {
      if (!s.last || s.lastOkAt === undefined || now - s.lastOkAt > this.staleAfterMs) continue;
      for (const p of s.last.unhealthy) {
        out.push({
          sidecar: s.target.nodeId,
          cluster: p.labels.cluster_name ?? '',
          endpoint: p.labels.endpoint ?? '',
          reason: p.labels.reason ?? '',
        });
      }
    }
    return out;
  }

  start(): void {
    if (this.timer) return;
    void this.scrapeAll();
    this.timer = setInterval(() => void this.scrapeAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Starts a scrape of every current target not already being scraped; resolves when all
   * of those have finished or timed out (the timer does not wait for it).
   */
  async scrapeAll(): Promise<void> {
    const current = this.options.targets();
    const urls = new Set(current.map((t) => t.url));
    for (const url of this.state.keys()) if (!urls.has(url)) this.state.delete(url);
    const runs: Promise<void>[] = [];
    for (const target of current) {
      let s = this.state.get(target.url);
      if (!s) {
        s = {
          target,
          last: undefined,
          deltas: [],
          lastOkAt: undefined,
          lastError: undefined,
          inFlight: false,
        };
        this.state.set(target.url, s);
      }
      s.target = target;
      if (!s.inFlight) runs.push(this.scrape(s));
    }
    await Promise.all(runs);
  }

  private async scrape(s: TargetState): Promise<void> {
    s.inFlight = true;
    try {
      const text = await this.fetchText(s.target.url);
      const at = this.now();
      const reading = toReading(parsePrometheusText(text, isDashboardMetric), at);
      if (s.last && at > s.last.at) s.deltas.push(delta(s.last, reading));
      s.last = reading;
      s.lastOkAt = at;
      s.lastError = undefined;
      this.trim(s, at);
    } catch (err) {
      s.lastError = (err as Error).message;
      this.options.log?.debug({ target: s.target.url, err: s.lastError }, 'scrape failed');
    } finally {
      s.inFlight = false;
    }
  }

  private trim(s: TargetState, at: number): void {
    while (s.deltas.length && (s.deltas[0]?.to ?? 0) <= at - this.windowMs) s.deltas.shift();
  }

  private async fetchText(url: string): Promise<string> {
    const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    const reader = res.body?.getReader();
    if (!reader) return '';
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.maxBytes) {
        await reader.cancel();
        throw new Error(`metrics page larger than ${this.maxBytes} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private fresh(s: TargetState, at: number): boolean {
    return s.lastOkAt !== undefined && at - s.lastOkAt <= this.staleAfterMs;
  }

  async stats(): Promise<MeshStats> {
    const at = this.now();
    const deltas: Delta[] = [];
    let from = Number.POSITIVE_INFINITY;
    let to = 0;
    for (const s of this.state.values()) {
      if (!this.fresh(s, at)) continue;
      this.trim(s, at);
      for (const d of s.deltas) {
        deltas.push(d);
        from = Math.min(from, d.from);
        to = Math.max(to, d.to);
      }
    }
    // Rates over the span the deltas cover, so a young dashboard is not diluted by time it
    // was not looking, and the numbers do not sag between scrapes.
    const seconds = Math.max((to - from) / 1000, 0.001);
    return computeMeshStats(deltas, deltas.length ? seconds : this.windowMs / 1000, at);
  }

  targets(): TargetStatus[] {
    const at = this.now();
    return [...this.state.values()].map((s) => ({
      ...s.target,
      health:
        s.lastOkAt === undefined
          ? s.lastError
            ? 'down'
            : 'pending'
          : !this.fresh(s, at)
            ? 'stale'
            : s.lastError
              ? 'down'
              : 'up',
      lastScrape: s.lastOkAt === undefined ? undefined : new Date(s.lastOkAt).toISOString(),
      lastError: s.lastError,
      series: (s.last?.requests.size ?? 0) + (s.last?.buckets.size ?? 0),
    }));
  }
}
