/**
 * The demo's traffic generator: steady requests to frontend through a sidecar's outbound
 * port, summarised every few seconds (success rate, reviews versions, latency).
 */
import http from 'node:http';

export interface TrafficSummary {
  requests: number;
  ok: number;
  versions: Record<string, number>;
  latencies: number[];
}

export function newSummary(): TrafficSummary {
  return { requests: 0, ok: 0, versions: {}, latencies: [] };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function formatSummary(s: TrafficSummary): string {
  const sorted = [...s.latencies].sort((a, b) => a - b);
  const rate = s.requests ? ((100 * s.ok) / s.requests).toFixed(1) : '0.0';
  const versions = Object.entries(s.versions)
    .sort()
    .map(([v, n]) => `${v} ${n}`)
    .join(', ');
  return (
    `traffic: ${s.requests} requests, ${rate}% ok, reviews ${versions || '-'}, ` +
    `p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms`
  );
}

/** Sends `rate` requests a second until `signal` aborts; fills `total` and each window. */
export async function generate(
  outboundPort: number,
  rate: number,
  signal: AbortSignal,
  onWindow: (window: TrafficSummary, total: TrafficSummary) => void,
  windowMs = 2000,
): Promise<TrafficSummary> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const total = newSummary();
  let window = newSummary();
  const record = (ok: boolean, ms: number, body: string) => {
    for (const s of [total, window]) {
      s.requests++;
      if (ok) s.ok++;
      s.latencies.push(ms);
      const v = /reviews-(v\d)/.exec(body)?.[1];
      if (v) s.versions[v] = (s.versions[v] ?? 0) + 1;
    }
  };
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get(
        { port: outboundPort, path: '/', agent, headers: { host: 'frontend:8080' } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            record(res.statusCode === 200, performance.now() - t0, body);
            resolve();
          });
        },
      );
      req.on('error', () => {
        record(false, performance.now() - t0, '');
        resolve();
      });
    });
  const interval = 1000 / rate;
  let next = performance.now();
  let windowStart = next;
  const pending = new Set<Promise<void>>();
  while (!signal.aborted) {
    const p = one();
    pending.add(p);
    p.then(() => pending.delete(p));
    next += interval;
    const now = performance.now();
    if (now - windowStart >= windowMs) {
      onWindow(window, total);
      window = newSummary();
      windowStart = now;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  await Promise.all(pending);
  agent.destroy();
  return total;
}
