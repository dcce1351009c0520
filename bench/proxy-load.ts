/**
 * The benchmark's own load generator, run as a separate process (pinned apart from the proxy
 * under test). Plain keep-alive HTTP/1.1 over `net` sockets and a hand-rolled response
 * reader, so that the generator costs as little as possible per request. Prints one line of
 * JSON.
 *
 *   node proxy-load.js --mode sat  --port P [--host H] --seconds S --connections N
 *       closed loop: N connections, each sends its next request as soon as the last answer
 *       is in (used for saturation when wrk is not installed).
 *   node proxy-load.js --mode rate --port P [--host H] --seconds S --rate R [--warmup S]
 *       open loop: R requests/s on a fixed schedule whatever the answers do (up to
 *       --connections connections; a request that finds none idle waits in a queue, and
 *       that wait counts as latency, so a stall is not hidden: no coordinated omission).
 *       Latency counts from the moment the generator sends the request. How late its timer
 *       fired against the schedule is reported apart (lag): that is the generator's delay,
 *       not the proxy's.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    mode: { type: 'string', default: 'rate' },
    port: { type: 'string' },
    host: { type: 'string', default: 'localhost' },
    path: { type: 'string', default: '/' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string' },
    rate: { type: 'string', default: '1000' },
  },
});
const PORT = Number(a.port);
const SECONDS = Number(a.seconds);
const WARMUP = Number(a.warmup);
const RATE = Number(a.rate);
const CONNECTIONS = Number(a.connections ?? (a.mode === 'sat' ? 64 : 32));
const REQUEST = Buffer.from(`GET ${a.path} HTTP/1.1\r\nHost: ${a.host}\r\n\r\n`, 'latin1');
const CRLF = Buffer.from('\r\n');
const CRLF2 = Buffer.from('\r\n\r\n');

/** What a response came to: its status, or 0 if the connection failed first. */
type Done = (status: number) => void;

/**
 * Where a complete response ends in `buf`, or -1 if more bytes are needed. Sets `status` and
 * `close` on the connection it is called for.
 */
function responseEnd(buf: Buffer, out: { status: number; close: boolean }): number {
  const headEnd = buf.indexOf(CRLF2);
  if (headEnd < 0) return -1;
  const head = buf.toString('latin1', 0, headEnd).toLowerCase();
  out.status = Number(head.slice(9, 12));
  out.close = /\r\nconnection:[^\r]*close/.test(head);
  const bodyStart = headEnd + 4;
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (cl) {
    const end = bodyStart + Number(cl[1]);
    return buf.length >= end ? end : -1;
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    let pos = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf(CRLF, pos);
      if (lineEnd < 0) return -1;
      const size = Number.parseInt(buf.toString('latin1', pos, lineEnd), 16);
      if (!Number.isFinite(size)) return -1;
      if (size === 0) {
        const end = buf.indexOf(CRLF2, lineEnd);
        return end < 0 ? -1 : end + 4;
      }
      pos = lineEnd + 2 + size + 2;
      if (pos > buf.length) return -1;
    }
  }
  // No framing: only bodiless statuses are expected here.
  return bodyStart;
}

class Connection {
  private socket!: net.Socket;
  private buf: Buffer | undefined;
  private done: Done | undefined;
  private readonly parsed = { status: 0, close: false };
  closed = false;
  reconnects = -1;

  constructor(private readonly onReady: (c: Connection) => void) {
    this.open();
  }

  private open(): void {
    this.reconnects++;
    this.buf = undefined;
    const s = net.connect({ port: PORT, host: '127.0.0.1', noDelay: true });
    s.on('connect', () => this.onReady(this));
    s.on('data', (chunk: Buffer) => this.data(chunk));
    s.on('error', () => undefined);
    s.on('close', () => {
      const done = this.done;
      this.done = undefined;
      if (!this.closed) this.open();
      done?.(0);
    });
    this.socket = s;
  }

  send(done: Done): void {
    this.done = done;
    this.socket.write(REQUEST);
  }

  private data(chunk: Buffer): void {
    const buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    const end = responseEnd(buf, this.parsed);
    if (end < 0) {
      this.buf = buf;
      return;
    }
    this.buf = undefined;
    const done = this.done;
    this.done = undefined;
    if (this.parsed.close || end < buf.length) {
      // The server closes, or sent more than one answer: start over on a new connection.
      this.socket.removeAllListeners('close');
      this.socket.destroy();
      this.open();
    }
    done?.(this.parsed.status);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** Opens `n` connections; resolves once all are connected (or rejects after 5 s). */
function connectAll(n: number): Promise<Connection[]> {
  return new Promise((resolve, reject) => {
    let up = 0;
    const timer = setTimeout(() => reject(new Error(`could not connect to port ${PORT}`)), 5000);
    const conns: Connection[] = [];
    for (let i = 0; i < n; i++) {
      conns.push(
        new Connection(() => {
          if (++up === n) {
            clearTimeout(timer);
            resolve(conns);
          }
        }),
      );
    }
  });
}

const ok = (status: number) => status >= 200 && status < 400;

/** Closed loop on every connection until `seconds` have passed. */
function closedLoop(conns: Connection[], seconds: number) {
  return new Promise<{ requests: number; errors: number; seconds: number }>((resolve) => {
    let requests = 0;
    let errors = 0;
    let active = conns.length;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const loop = (c: Connection) =>
      c.send((status) => {
        if (ok(status)) requests++;
        else errors++;
        if (performance.now() < end) loop(c);
        else if (--active === 0)
          resolve({ requests, errors, seconds: (performance.now() - t0) / 1000 });
      });
    for (const c of conns) loop(c);
  });
}

/** performance.now() ms to CLOCK_MONOTONIC µs (process.hrtime), the clock the bench uses. */
const H0 = Number(process.hrtime.bigint() / 1000n);
const P0 = performance.now();
const monoUs = (ms: number) => Math.round(H0 + (ms - P0) * 1000);

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Open loop at RATE requests/s: WARMUP seconds unrecorded, then SECONDS recorded. */
function openLoop(conns: Connection[]) {
  return new Promise<object>((resolve) => {
    const idle = [...conns];
    const queue: { i: number; t: number }[] = [];
    const interval = 1000 / RATE;
    const warm = Math.round(WARMUP * RATE);
    const total = warm + Math.round(SECONDS * RATE);
    const latencies = new Float64Array(total - warm);
    /** When each recorded request was sent (performance.now() ms), for the slowest ones. */
    const sentAt = new Float64Array(total - warm);
    const lags = new Float64Array(total - warm);
    let recorded = 0;
    let errors = 0;
    let queued = 0;
    let finished = 0;
    let next = 0;
    const t0 = performance.now() + 10;
    let tRecord = 0;
    let tLast = 0;

    const complete = (c: Connection, i: number, t: number, status: number) => {
      const now = performance.now();
      if (i >= warm) {
        if (ok(status)) {
          sentAt[recorded] = t;
          latencies[recorded++] = now - t;
        } else errors++;
        tLast = now;
      }
      const waiting = queue.shift();
      if (waiting) send(c, waiting.i, waiting.t);
      else idle.push(c);
      if (++finished === total) finish();
    };
    const send = (c: Connection, i: number, t: number) =>
      c.send((status) => complete(c, i, t, status));
    const tick = () => {
      const now = performance.now();
      for (; next < total; next++) {
        const due = t0 + next * interval;
        if (due > now) break;
        if (next === warm) tRecord = due;
        if (next >= warm) lags[next - warm] = now - due;
        // Latency counts from now, when the generator sends (or queues) the request; a
        // request that waits for a connection has that wait counted.
        const t = now;
        const c = idle.pop();
        if (c) send(c, next, t);
        else {
          queued++;
          queue.push({ i: next, t });
        }
      }
      if (next < total) setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    // Whatever is still out 5 s after the last request was due counts as failed.
    const stall = setTimeout(finish, (total / RATE + 5) * 1000 + 10);
    function finish() {
      clearTimeout(stall);
      // The requests at or above p99, as CLOCK_MONOTONIC microseconds [sent, answered], so
      // that the bench can line them up with what the proxy did meanwhile (its GC pauses).
      const cut = quantile(Float64Array.from(latencies.subarray(0, recorded)).sort(), 0.99);
      const slow: [number, number][] = [];
      for (let i = 0; i < recorded; i++)
        if (latencies[i] >= cut) slow.push([monoUs(sentAt[i]), monoUs(sentAt[i] + latencies[i])]);
      const lat = latencies.subarray(0, recorded).sort();
      const lag = lags.sort();
      let sum = 0;
      for (const v of lat) sum += v;
      resolve({
        requests: recorded,
        errors: errors + (total - finished),
        seconds: (tLast - tRecord) / 1000,
        rps: recorded / ((tLast - tRecord) / 1000),
        mean: sum / recorded,
        p50: quantile(lat, 0.5),
        p90: quantile(lat, 0.9),
        p99: quantile(lat, 0.99),
        p999: quantile(lat, 0.999),
        max: lat[lat.length - 1],
        lagP99: quantile(lag, 0.99),
        lagMax: lag[lag.length - 1],
        slow,
        queued,
      });
    }
    setTimeout(tick, 10);
  });
}

async function main(): Promise<void> {
  if (!Number.isInteger(PORT) || PORT <= 0) throw new Error('--port is required');
  const conns = await connectAll(CONNECTIONS);
  let result: object;
  if (a.mode === 'sat') {
    const r = await closedLoop(conns, SECONDS);
    result = { ...r, rps: r.requests / r.seconds };
  } else if (a.mode === 'rate') {
    result = await openLoop(conns);
  } else throw new Error(`--mode must be sat or rate, got ${a.mode}`);
  const reconnects = conns.reduce((n, c) => n + c.reconnects, 0);
  for (const c of conns) c.close();
  process.stdout.write(`${JSON.stringify({ ...result, reconnects })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`proxy-load: ${(err as Error).message}\n`);
  process.exit(1);
});
