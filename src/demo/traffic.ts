/**
 * The demo's traffic generator, outside the mesh: a steady `rate` of requests to the
 * gateway's listener (open loop: a slow answer does not slow the schedule down), with a summary
 * of every window and of the whole run.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { versionOf } from './app.js';
import { type Outcome, TrafficStats } from './traffic-stats.js';

export interface TrafficOptions {
  /** Where the requests go: the gateway's listener. */
  readonly outbound: URL;
  /** Host header. */
  readonly authority: string;
  /** Requests a second. */
  readonly rate: number;
  /** Aborted to stop; requests in flight are awaited. */
  readonly signal: AbortSignal;
  readonly windowMs: number;
  readonly onWindow: (window: TrafficStats, now: number) => void;
  readonly requestTimeoutMs?: number;
  readonly now?: () => number;
}

/** Sends one request; never rejects. */
export function sendOne(
  agent: http.Agent,
  outbound: URL,
  authority: string,
  timeoutMs: number,
  now: () => number,
): Promise<Outcome> {
  const t0 = now();
  return new Promise((resolve) => {
    const req = http.get(
      {
        host: outbound.hostname,
        port: outbound.port,
        path: '/',
        agent,
        timeout: timeoutMs,
        headers: { host: authority },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => resolve({ status: 0, ms: now() - t0, reviewsVersion: undefined }));
        res.on('end', () => {
          let version: string | undefined;
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
            version = versionOf((body as { reviews?: unknown }).reviews);
          } catch {
            version = undefined;
          }
          const flags = res.headers['x-ferry-response-flags'];
          resolve({
            status: res.statusCode ?? 0,
            ms: now() - t0,
            reviewsVersion: version,
            ...(typeof flags === 'string' && flags !== '' ? { flags } : {}),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: now() - t0, reviewsVersion: undefined }));
  });
}

/** Runs until `signal` aborts; resolves with the totals once the last request is answered. */
export async function generateTraffic(o: TrafficOptions): Promise<TrafficStats> {
  const now = o.now ?? (() => performance.now());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const timeoutMs = o.requestTimeoutMs ?? 5000;
  const interval = 1000 / o.rate;
  const start = now();
  const total = new TrafficStats(start);
  let window = new TrafficStats(start);
  const inFlight = new Set<Promise<void>>();
  let next = start;
  while (!o.signal.aborted) {
    const t = now();
    if (t - window.startedAt >= o.windowMs) {
      o.onWindow(window, t);
      window = new TrafficStats(t);
    }
    // Catch up on missed ticks (a busy event loop) without a burst: at most one per turn.
    if (t >= next) {
      const p = sendOne(agent, o.outbound, o.authority, timeoutMs, now).then((outcome) => {
        // Counted in the window it completes in, so a printed window is never added to.
        total.record(outcome);
        window.record(outcome);
        inFlight.delete(p);
      });
      inFlight.add(p);
      next = Math.max(next + interval, t - interval);
    }
    try {
      await sleep(Math.max(0, next - now()), undefined, { signal: o.signal });
    } catch {
      // aborted: the loop condition ends it
    }
  }
  await Promise.all(inFlight);
  agent.destroy();
  return total;
}
