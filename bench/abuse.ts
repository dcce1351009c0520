/**
 * `npm run bench:abuse`: Ferry's sidecar beside nginx under the abuse cases of issue 12, in
 * one run, each proxy started afresh for each case (so its peak RSS is that case's), both in
 * front of the same upstream (in this process) and both with the same timeouts:
 *
 *   slowloris      N connections sending a request head one header line a second, never done
 *   idle           N connections that connect and send nothing
 *   pipeline       one connection: a request the upstream holds, then MiBs of pipelined GETs
 *   h2-slow-reader an HTTP/2 client asking for a large body and reading none of it
 *   h2-rapid-reset HTTP/2 streams opened and reset at once (CVE-2023-44487), as fast as possible
 *
 * For each: the proxy's peak RSS (VmHWM; nginx: master + worker), the attacker's connections
 * the proxy still holds at the end (after the timeouts), and the success rate of a
 * well-behaved client (a new connection, GET /, every 100 ms, 2 s to answer) during the
 * attack; plus a figure of the case's own (bytes the upstream wrote, bytes the proxy took in,
 * streams that reached the upstream).
 *
 *   npm run build && node dist/bench/abuse.js [--runs 2] [--connections 1000] [--seconds 8]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './bench-args.js';
import {
  type Child,
  childPids,
  EPHEMERAL_PORTS,
  freePort,
  Processes,
  peakRssMiB,
  sleep,
  waitUntil,
} from './proxy-procs.js';

const opt = benchArgs(
  'node dist/bench/abuse.js [--runs 2] [--connections 1000] [--seconds 8] [--timeout 3] [--only slowloris,idle,...]\n',
  {
    runs: { type: 'string', default: '2' },
    connections: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '8' },
    timeout: { type: 'string', default: '3' },
    only: { type: 'string' },
    /** Internal: run as the well-behaved client against this port. */
    client: { type: 'string' },
    /** Also run another checkout's build (DIR/dist) as "ferry-before", without the limit flags. */
    baseline: { type: 'string' },
  },
);
const RUNS = Number(opt.runs);
const CONNECTIONS = Number(opt.connections);
const SECONDS = Number(opt.seconds);
/** Header-read and idle timeouts of both proxies, seconds (short, so a case ends in time). */
const TIMEOUT_S = Number(opt.timeout);
const HOST = 'upstream:8080';
const BIG = 512 * 1024 * 1024;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, '../src/cli/main.js');
const procs = new Processes(false);
process.on('exit', () => procs.killAll());
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ferry-abuse-'));

/** The upstream: `/` answers at once, `/hold` after 5 s, `/big` streams BIG bytes with backpressure. */
interface Upstream {
  port: number;
  written: number;
  requests: number;
  close(): void;
}
async function startUpstream(): Promise<Upstream> {
  const chunk = Buffer.alloc(256 * 1024, 'x');
  const u = { port: 0, written: 0, requests: 0, close: () => undefined };
  const server = http.createServer((req, res) => {
    u.requests++;
    req.resume();
    if (req.url === '/hold') {
      setTimeout(() => res.end('held'), 5000).unref();
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': BIG });
      let sent = 0;
      const pump = () => {
        while (sent < BIG) {
          sent += chunk.length;
          u.written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
      return;
    }
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.port = (server.address() as AddressInfo).port;
  u.close = () => {
    server.closeAllConnections();
    server.close();
  };
  return u;
}

interface Proxy {
  name: string;
  /** HTTP/1.1 and h2c (prior knowledge) on one port (Ferry), or two ports (nginx). */
  h1: number;
  h2: number;
  pids: () => number[];
  /** What the proxy's own counters say acted (Ferry: ferry_proxy_downstream_limits_total). */
  limits?: () => Promise<string>;
  stop(): Promise<void>;
}

async function startNginx(up: number): Promise<Proxy> {
  const dir = path.join(tmp, `nginx-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const h1 = await freePort();
  const h2 = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
worker_rlimit_nofile 20000;
events { worker_connections 16384; }
http {
  access_log off;
  client_header_timeout ${TIMEOUT_S}s;
  keepalive_timeout ${TIMEOUT_S}s;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  upstream app { server 127.0.0.1:${up}; keepalive 64; }
  server {
    listen 127.0.0.1:${h1} backlog=4096;
    listen 127.0.0.1:${h2} http2 backlog=4096;
    location / { proxy_pass http://app; }
  }
}
`,
  );
  const child = procs.spawn('nginx', '/usr/sbin/nginx', [
    '-p',
    `${dir}/`,
    '-e',
    `${dir}/error.log`,
    '-c',
    conf,
  ]);
  await waitUntil('nginx', () => get(h1, '/').then((s) => s === 200), 10_000);
  return {
    name: 'nginx',
    h1,
    h2,
    pids: () => [child.pid, ...childPids(child.pid)],
    stop: () => procs.stop(child),
  };
}

async function startFerry(up: number, before = false): Promise<Proxy> {
  const cli = before ? path.join(opt.baseline!, 'dist/src/cli/main.js') : CLI;
  const limits = before
    ? []
    : ['--headers-timeout', `${TIMEOUT_S}s`, '--idle-timeout', `${TIMEOUT_S}s`];
  const file = path.join(tmp, 'mesh.yaml');
  writeFileSync(
    file,
    `services:
  - name: upstream
    ports:
      - { port: 8080, protocol: http }
    endpoints:
      - { address: 127.0.0.1, port: ${up} }
    policy:
      timeout: 60s
`,
  );
  const cp = procs.spawn('cp', process.execPath, [
    cli,
    'control-plane',
    '--config',
    file,
    '--xds-port',
    '0',
    '--http-port',
    '0',
    '--log-level',
    'warn',
  ]);
  const m = await procs.waitForLine(cp, /xDS on 127\.0\.0\.1:(\d+)/, 15_000);
  const sidecar: Child = procs.spawn('ferry', process.execPath, [
    cli,
    'proxy',
    '--xds',
    `127.0.0.1:${m[1]}`,
    '--service',
    'client',
    ...EPHEMERAL_PORTS,
    ...limits,
    '--log-level',
    'error',
  ]);
  const p = await procs.waitForLine(
    sidecar,
    /outbound (\d+), inbound (\d+), admin (\d+), metrics (\d+)/,
    15_000,
  );
  const metricsPort = Number(p[4]);
  const port = Number(p[1]);
  await waitUntil('ferry routes', () => get(port, '/').then((s) => s === 200), 15_000);
  return {
    name: before ? 'ferry-before' : 'ferry',
    h1: port,
    h2: port,
    pids: () => [sidecar.pid],
    limits: async () => {
      const text = await new Promise<string>((resolve) => {
        http
          .get({ port: metricsPort, host: '127.0.0.1', path: '/stats/prometheus' }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve(body));
          })
          .on('error', () => resolve(''));
      });
      const hits = [
        ...text.matchAll(/^ferry_proxy_downstream_limits_total\{limit="([a-z0-9_]+)"\} (\d+)/gm),
      ]
        .filter((m) => m[2] !== '0')
        .map((m) => `${m[1]} ${m[2]}`);
      return hits.join(', ');
    },
    stop: async () => {
      await procs.stop(sidecar);
      await procs.stop(cp);
    },
  };
}

/** One GET on a new connection; the status, or 0 on an error or after 2 s. */
function get(port: number, p: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { port, host: '127.0.0.1', path: p, headers: { host: HOST }, agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/**
 * The well-behaved client, in a process of its own (so the attacker's loop does not slow
 * it): a GET every 100 ms until SIGTERM, then it prints its success rate.
 */
function wellBehaved(port: number): { stop(): Promise<string> } {
  const child = procs.spawn('client', process.execPath, [
    fileURLToPath(import.meta.url),
    '--client',
    String(port),
  ]);
  let line = '';
  child.lineListeners.add((l) => (line = l));
  return {
    async stop() {
      await procs.stop(child, 'SIGTERM', 5000);
      return line || '(no result)';
    },
  };
}

async function runClient(port: number): Promise<void> {
  let ok = 0;
  let all = 0;
  const pending: Promise<void>[] = [];
  const timer = setInterval(() => {
    pending.push(
      get(port, '/').then((s) => {
        all++;
        if (s === 200) ok++;
      }),
    );
  }, 100);
  process.once('SIGTERM', async () => {
    clearInterval(timer);
    await Promise.all(pending);
    process.stdout.write(`${((100 * ok) / Math.max(all, 1)).toFixed(0)}% of ${all}\n`);
    process.exit(0);
  });
}

/** Opens `n` connections; each is counted as held until the proxy closes it. */
async function openMany(port: number, n: number, onOpen: (s: net.Socket) => void) {
  const sockets: net.Socket[] = [];
  let open = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.once('connect', () => {
      open++;
      onOpen(s);
    });
    s.once('close', () => open > 0 && open--);
    sockets.push(s);
    if (i % 100 === 99) await sleep(10);
  }
  return {
    held: () => sockets.filter((s) => !s.destroyed && !s.readableEnded).length,
    each: (f: (s: net.Socket) => void) => {
      for (const s of sockets) if (!s.destroyed && !s.readableEnded && s.writable) f(s);
    },
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

type Case = (
  proxy: Proxy,
  up: Upstream,
  sample: () => void,
) => Promise<{ held: number; extra: string }>;

const cases: Record<string, Case> = {
  async slowloris(proxy, _up, sample) {
    const conns = await openMany(proxy.h1, CONNECTIONS, (s) =>
      s.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`),
    );
    const start = Date.now();
    while (Date.now() - start < SECONDS * 1000) {
      await sleep(1000);
      // One more header line on every connection still open.
      conns.each((s) => s.write('X-Slow: 1\r\n'));
      sample();
    }
    const held = conns.held();
    conns.close();
    return { held, extra: '' };
  },
  async idle(proxy, _up, sample) {
    const conns = await openMany(proxy.h1, CONNECTIONS * 3, () => undefined);
    const start = Date.now();
    while (Date.now() - start < SECONDS * 1000) {
      await sleep(500);
      sample();
    }
    const held = conns.held();
    conns.close();
    return { held, extra: '' };
  },
  async pipeline(proxy, _up, sample) {
    const s = net.connect(proxy.h1, '127.0.0.1');
    s.on('error', () => undefined);
    let taken = 0;
    // What the proxy had taken in when the held request was answered (5 s in).
    let atHold: number | undefined;
    s.on('data', () => {
      atHold ??= taken - s.writableLength;
    });
    await new Promise((r) => s.once('connect', r));
    s.write(`GET /hold HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    const one = Buffer.from(
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Pad: ${'p'.repeat(4000)}\r\n\r\n`,
    );
    const total = 64 * 1024 * 1024;
    let drained: Promise<void> | undefined;
    const start = Date.now();
    // Write as fast as the proxy takes it, up to 64 MiB, for at most the case's time.
    while (taken < total && Date.now() - start < SECONDS * 1000 && !s.destroyed) {
      taken += one.length;
      if (!s.write(one)) {
        drained ??= new Promise<void>((r) =>
          s.once('drain', () => {
            drained = undefined;
            r();
          }),
        );
        await Promise.race([drained, sleep(500)]);
        sample();
      }
    }
    const accepted = atHold ?? taken - s.writableLength;
    s.destroy();
    return {
      held: 0,
      extra: `took in ${(accepted / 1048576).toFixed(1)} MiB behind /hold (held 5 s)`,
    };
  },
  async 'h2-slow-reader'(proxy, up, sample) {
    const session = http2.connect(`http://127.0.0.1:${proxy.h2}`);
    session.on('error', () => undefined);
    const req = session.request({ ':path': '/big', ':authority': HOST });
    req.on('error', () => undefined);
    req.pause();
    const start = Date.now();
    while (Date.now() - start < SECONDS * 1000) {
      await sleep(500);
      sample();
    }
    const written = up.written;
    session.destroy();
    return {
      held: 0,
      extra: `upstream wrote ${(written / 1048576).toFixed(1)} of ${BIG / 1048576} MiB`,
    };
  },
  async 'h2-rapid-reset'(proxy, up, sample) {
    const before = up.requests;
    let sessions = 0;
    let streams = 0;
    let goaways = 0;
    const start = Date.now();
    while (Date.now() - start < SECONDS * 1000) {
      const session = http2.connect(`http://127.0.0.1:${proxy.h2}`);
      sessions++;
      session.on('error', () => undefined);
      session.on('goaway', () => goaways++);
      await new Promise((r) => {
        session.once('connect', r);
        session.once('close', r);
      });
      while (!session.closed && !session.destroyed && Date.now() - start < SECONDS * 1000) {
        for (let i = 0; i < 50 && !session.closed && !session.destroyed; i++) {
          try {
            const req = session.request({ ':path': '/hold', ':authority': HOST });
            req.on('error', () => undefined);
            req.close(http2.constants.NGHTTP2_CANCEL);
            streams++;
          } catch {
            break;
          }
        }
        await new Promise((r) => setImmediate(r));
        sample();
      }
      session.destroy();
    }
    return {
      held: 0,
      extra: `${streams} streams reset on ${sessions} connections, ${goaways} GOAWAY, ${up.requests - before} reached the upstream`,
    };
  },
};

type Which = 'ferry' | 'nginx' | 'ferry-before';
async function runCase(name: string, which: Which): Promise<string[]> {
  const up = await startUpstream();
  const proxy =
    which === 'nginx' ? await startNginx(up.port) : await startFerry(up.port, which !== 'ferry');
  let peak = 0;
  const sample = () => {
    let sum = 0;
    for (const pid of proxy.pids()) sum += peakRssMiB(pid);
    if (sum > peak) peak = sum;
  };
  const client = wellBehaved(proxy.h1);
  let result: { held: number; extra: string };
  try {
    result = await cases[name](proxy, up, sample);
  } finally {
    sample();
  }
  const served = await client.stop();
  const limits = (await proxy.limits?.()) ?? '';
  await proxy.stop();
  up.close();
  const extra = limits
    ? `${result.extra}${result.extra ? '; ' : ''}limits: ${limits}`
    : result.extra;
  return [name, which, `${peak.toFixed(0)} MiB`, String(result.held), served, extra];
}

function table(rows: string[][]): string {
  const head = ['case', 'proxy', 'peak RSS', 'held at end', 'well-behaved OK', 'case figure'];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n');
}

if (opt.client) {
  await runClient(Number(opt.client));
  await new Promise(() => undefined);
}
const names = opt.only ? opt.only.split(',') : Object.keys(cases);
try {
  for (let run = 1; run <= RUNS; run++) {
    const rows: string[][] = [];
    for (const name of names) {
      const which: Which[] = opt.baseline ? ['nginx', 'ferry-before', 'ferry'] : ['nginx', 'ferry'];
      for (const w of which) rows.push(await runCase(name, w));
    }
    process.stdout.write(
      `\nrun ${run}: ${CONNECTIONS} connections (idle: ${CONNECTIONS * 3}), ${SECONDS} s per case, both proxies with ${TIMEOUT_S} s header-read and idle timeouts\n${table(rows)}\n`,
    );
  }
} finally {
  procs.killAll();
  rmSync(tmp, { recursive: true, force: true });
}
