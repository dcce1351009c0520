/**
 * The benchmark's load generator, run as its own process: a closed loop for saturation
 * (N connections, each sending as soon as its last answer came), or an open loop at a fixed
 * rate whose latencies are measured from each request's scheduled time (no coordinated
 * omission). Prints one JSON line.
 *   node proxy-load.js sat  URL HOST SECONDS CONNECTIONS
 *   node proxy-load.js rate URL HOST SECONDS RATE
 */
import { Pool } from 'undici';

const [mode, url, host, secondsArg, nArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const n = Number(nArg);

async function saturate(pool: Pool): Promise<object> {
  let done = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        const r = await pool.request({ path: '/', method: 'GET', headers: { host } });
        await r.body.dump();
        if (r.statusCode === 200) done++;
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, worker));
  return { requests: done, errors, seconds: (performance.now() - t0) / 1000 };
}

async function fixedRate(pool: Pool): Promise<object> {
  const interval = 1000 / n;
  const total = Math.floor(seconds * n);
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now() + 50;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Latency counts from when the request was due, or from when it left if that was
    // earlier (timers fire early by up to a millisecond): no coordinated omission, no
    // negative figures.
    const scheduled = Math.min(due, performance.now());
    inflight.push(
      pool.request({ path: '/', method: 'GET', headers: { host } }).then(
        async (r) => {
          await r.body.dump();
          if (r.statusCode === 200) latencies.push(performance.now() - scheduled);
          else errors++;
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return { requests: latencies.length, errors, p50: q(0.5), p90: q(0.9), p99: q(0.99) };
}

const pool = new Pool(url, { connections: mode === 'sat' ? n : 64, pipelining: 1 });
// Warm up the connections and the JIT of everything on the path.
await Promise.all(
  Array.from({ length: 200 }, () =>
    pool.request({ path: '/', method: 'GET', headers: { host } }).then(
      (r) => r.body.dump(),
      () => undefined,
    ),
  ),
);
const result = mode === 'sat' ? await saturate(pool) : await fixedRate(pool);
process.stdout.write(`${JSON.stringify(result)}\n`);
await pool.close();
