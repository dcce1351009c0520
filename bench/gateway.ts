/**
 * `npm run bench:gateway` (and the last part of `npm run bench`): the gateway's throughput on
 * every core, in one run, against the same upstream (nginx answering 100 bytes):
 *   gateway x1        ferry gateway --concurrency 1
 *   gateway x2        ferry gateway --concurrency 2 (node:cluster, the primary hands
 *                     connections to the workers round robin: SCHED_RR, the default)
 *   gateway x2 none   the same with NODE_CLUSTER_SCHED_POLICY=none (the kernel wakes a worker
 *                     on the shared socket), to see which balances better
 *   nginx x1, x2      nginx with worker_processes 1 and 2 as the same reverse proxy
 * The gateway is a real `ferry gateway` process configured over a real ADS stream (a plaintext
 * HTTP listener `gateway~<port>`, RDS to a STATIC cluster). Load: wrk (Debian's package, one
 * thread, 128 keep-alive connections), the cheapest generator per request at hand; without it
 * (or with BENCH_GENERATOR=node), two proxy-load.js processes. Per variant: requests/s, CPU
 * seconds of each proxy process over the measured window (how evenly the workers were used),
 * CPU per request of the proxy and of everything else on the machine (generator, upstream,
 * kernel), and the ratio against `gateway x1`. The issue asks for x2 >= 1.7 x x1. That needs
 * two cores for the workers alone: the run prints how busy the machine was, and nginx's own
 * 2-against-1 ratio, which is capped the same way.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { types } from '../src/xds/index.js';
import { FuzzAdsServer } from '../test/fuzz/fuzz-ads-server.js';
import { hcm, listener, routes, staticCluster } from '../test/proxy/gateway/gateway-harness.js';
import { EPHEMERAL_ADMIN_PORTS } from '../test/support/ephemeral-ports.js';
import { benchArgs } from './bench-args.js';
import { writeNginxConf } from './nginx-conf.js';
import { saturationArgs } from './proxy-load-args.js';
import { answers, childPids, cpuMs, freePort, Processes, sleep, waitUntil } from './proxy-procs.js';

/** The upstream's answer size, as `npm run bench`'s (proxy-servers.ts BODY_BYTES). */
const BODY_BYTES = 100;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(HERE, '../src/cli/main.js');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

const opt = benchArgs(
  'Usage: node dist/bench/gateway.js [--duration S (8)] [--warmup S (2)] [--connections N per generator (64)] [--protocol http1|h2 (http1)]\n',
  {
    protocol: { type: 'string', default: 'http1' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
  },
);
const DURATION = Number(opt.duration);
const WARMUP = Number(opt.warmup);
const CONNECTIONS = Number(opt.connections);
/** h2: clients speak HTTP/2 (h2c, prior knowledge) to the proxy, which speaks HTTP/1.1 upstream. */
const PROTOCOL = opt.protocol;
if (PROTOCOL !== 'http1' && PROTOCOL !== 'h2')
  throw new Error(`--protocol: http1 or h2, not ${PROTOCOL}`);
const H2LOAD = ['/usr/bin/h2load', '/usr/local/bin/h2load'].find((p) => existsSync(p));
if (PROTOCOL === 'h2' && !H2LOAD) {
  process.stdout.write(
    'bench gateway --protocol h2: skipped, h2load is not installed (Debian package nghttp2-client)\n',
  );
  process.exit(0);
}
/** HTTP/2 streams in flight per connection for h2load. */
const H2_STREAMS = 16;

const procs = new Processes(false);
const tmp = mkdtempSync(path.join(tmpdir(), 'ferry-bench-gateway-'));
process.on('exit', () => {
  procs.killAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** Whether the port answers 200 over HTTP/2 with prior knowledge (nginx's `listen ... http2`). */
function answersH2(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => resolve(false));
    session.setTimeout(1000, () => {
      session.destroy();
      resolve(false);
    });
    const req = session.request({ ':path': '/' });
    req.on('error', () => resolve(false));
    req.on('response', (h) => {
      resolve(h[':status'] === 200);
      session.close();
    });
    req.end();
    req.resume();
  });
}

interface Target {
  readonly name: string;
  readonly port: number;
  /** The proxy's processes whose CPU is measured (a primary and its workers, nginx's). */
  pids(): number[];
  stop(): Promise<void>;
}

async function startNginx(
  name: string,
  workers: number,
  body: string,
  h2 = false,
): Promise<Target> {
  if (!NGINX) throw new Error('nginx is not installed');
  const { port, args } = await writeNginxConf(
    path.join(tmp, name.replace(/\W+/g, '-')),
    workers,
    body,
  );
  const child = procs.spawn(name, NGINX, args);
  await waitUntil(
    `${name} on port ${port}`,
    () => (h2 ? answersH2(port) : answers(port, '/')),
    10_000,
  );
  return {
    name,
    port,
    pids: () => [child.pid, ...childPids(child.pid)],
    stop: () => procs.stop(child),
  };
}

async function startGateway(
  name: string,
  ads: FuzzAdsServer,
  listenerPort: number,
  concurrency: number,
): Promise<Target> {
  const child = procs.spawn(name, process.execPath, [
    MAIN,
    'gateway',
    '--xds',
    `127.0.0.1:${ads.port}`,
    '--gateway',
    'bench/edge',
    '--sotw',
    '--bind',
    '127.0.0.1',
    ...EPHEMERAL_ADMIN_PORTS,
    '--log-level',
    'error',
    '--concurrency',
    String(concurrency),
  ]);
  await waitUntil(`${name} on port ${listenerPort}`, () => answers(listenerPort, '/'), 20_000);
  return {
    name,
    port: listenerPort,
    pids: () => [child.pid, ...childPids(child.pid)],
    stop: () => procs.stop(child),
  };
}

const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));

/** Runs a load generator for `seconds` and gives back what it printed. */
async function runGenerator(
  name: string,
  command: string,
  args: string[],
  seconds: number,
): Promise<string> {
  let out = '';
  const child = procs.spawn(name, command, args, {
    onLine: (line) => {
      out += `${line}\n`;
    },
  });
  const code = await procs.waitExit(child, (seconds + 30) * 1000);
  await new Promise((r) => setImmediate(r));
  if (code !== 0) throw new Error(`${name} failed (${code}): ${child.tail.join('\n')}`);
  return out;
}

/** wrk (one thread, CONNECTIONS x 2 connections): a generator that costs little CPU per request. */
async function saturateWrk(
  wrk: string,
  port: number,
  seconds: number,
): Promise<{ rps: number; errors: number }> {
  const out = await runGenerator(
    'wrk',
    wrk,
    ['-t', '1', '-c', String(CONNECTIONS * 2), '-d', `${seconds}s`, `http://127.0.0.1:${port}/`],
    seconds,
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  if (!Number.isFinite(rps)) throw new Error(`wrk printed no rate:\n${out}`);
  return { rps, errors };
}

/** h2load (one thread, CONNECTIONS/2 connections of H2_STREAMS streams each), h2c. */
async function saturateH2load(
  h2load: string,
  port: number,
  seconds: number,
): Promise<{ rps: number; errors: number }> {
  const connections = Math.max(1, Math.round(CONNECTIONS / 2));
  const out = await runGenerator(
    'h2load',
    h2load,
    [
      '-t',
      '1',
      '-c',
      String(connections),
      '-m',
      String(H2_STREAMS),
      '-D',
      String(seconds),
      `http://127.0.0.1:${port}/`,
    ],
    seconds,
  );
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1]);
  const req =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
      out,
    );
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!Number.isFinite(rps) || !req || !status) throw new Error(`h2load printed no rate:\n${out}`);
  return { rps, errors: Number(req[2]) + Number(req[3]) + Number(status[3]) + Number(status[4]) };
}

function generatorName(): string {
  if (PROTOCOL === 'h2')
    return `h2load, HTTP/2 (h2c) to the proxy, ${Math.max(1, Math.round(CONNECTIONS / 2))} connections x ${H2_STREAMS} streams; HTTP/1.1 upstream`;
  if (WRK && process.env.BENCH_GENERATOR !== 'node')
    return `wrk, HTTP/1.1, ${CONNECTIONS * 2} connections`;
  return `2 node generators x ${CONNECTIONS} connections, HTTP/1.1`;
}

/** Two generators at once; requests/s summed. */
async function saturate(port: number, seconds: number): Promise<{ rps: number; errors: number }> {
  if (PROTOCOL === 'h2' && H2LOAD) return saturateH2load(H2LOAD, port, seconds);
  if (WRK && process.env.BENCH_GENERATOR !== 'node') return saturateWrk(WRK, port, seconds);
  // proxy-load.js prints its result as JSON.
  const one = async (i: number) =>
    JSON.parse(
      await runGenerator(
        `load-${i}`,
        process.execPath,
        saturationArgs(port, 'localhost', seconds, CONNECTIONS),
        seconds,
      ),
    ) as { rps: number; errors: number };
  const [a, b] = await Promise.all([one(1), one(2)]);
  return { rps: a.rps + b.rps, errors: a.errors + b.errors };
}

interface Result {
  readonly name: string;
  readonly rps: number;
  readonly errors: number;
  /** CPU seconds per process over the measured window, largest first. */
  readonly cpu: number[];
  /** CPU seconds the whole machine spent over the window (every process, the kernel's too). */
  readonly machineCpu: number;
}

/** Busy CPU seconds of the whole machine since boot, from /proc/stat (idle and iowait left out). */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) / 100;
}

async function measure(target: Target): Promise<Result> {
  await saturate(target.port, WARMUP);
  const pids = target.pids();
  const before = pids.map(cpuMs);
  const machineBefore = machineBusySeconds();
  const r = await saturate(target.port, DURATION);
  const machineCpu = machineBusySeconds() - machineBefore;
  const cpu = pids.map((p, i) => (cpuMs(p) - before[i]) / 1000).sort((x, y) => y - x);
  return { name: target.name, rps: r.rps, errors: r.errors, cpu, machineCpu };
}

async function main(): Promise<void> {
  const body = 'x'.repeat(BODY_BYTES);
  const upstream = await startNginx(
    'upstream',
    1,
    `server { listen 127.0.0.1:PORT backlog=4096; default_type text/plain; location / { return 200 '${body}'; } }`,
  );
  const ads = new FuzzAdsServer();
  await ads.start();
  const results: Result[] = [];
  const variants: Array<[string, number, NodeJS.ProcessEnv]> = [
    ['gateway x1', 1, {}],
    ['gateway x2', 2, {}],
    ['gateway x2 none', 2, { NODE_CLUSTER_SCHED_POLICY: 'none' }],
  ];
  for (const [name, concurrency, env] of variants) {
    const port = await freePort();
    ads.set(types.CLUSTER, [staticCluster('upstream', upstream.port)]);
    ads.set(types.LISTENER, [listener(port, [{ filters: [hcm(`gateway~${port}`)] }])]);
    ads.set(types.ROUTE, [routes(`gateway~${port}`, { '*': 'upstream' })]);
    ads.set(types.ENDPOINT, []);
    ads.set(types.SECRET, []);
    // The child inherits this environment when it is spawned.
    const saved = process.env.NODE_CLUSTER_SCHED_POLICY;
    Object.assign(process.env, env);
    const target = await startGateway(name, ads, port, concurrency);
    if (saved === undefined) delete process.env.NODE_CLUSTER_SCHED_POLICY;
    else process.env.NODE_CLUSTER_SCHED_POLICY = saved;
    results.push(await measure(target));
    await target.stop();
  }
  if (NGINX) {
    for (const workers of [1, 2]) {
      const nginx = await startNginx(
        `nginx x${workers}`,
        workers,
        `upstream u { server 127.0.0.1:${upstream.port}; keepalive 256; }
  server { listen 127.0.0.1:PORT backlog=4096 reuseport${PROTOCOL === 'h2' ? ' http2' : ''}; location / { proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
        PROTOCOL === 'h2',
      );
      results.push(await measure(nginx));
      await nginx.stop();
    }
  }
  ads.close();
  await upstream.stop();
  const base = results[0].rps;
  const cores = availableParallelism();
  process.stdout.write(`\nGateway throughput (${cores} CPUs, ${generatorName()}, ${DURATION} s)\n`);
  for (const r of results) {
    const requests = r.rps * DURATION;
    const proxyUs = (r.cpu.reduce((a, b) => a + b, 0) / requests) * 1e6;
    const restUs = ((r.machineCpu - r.cpu.reduce((a, b) => a + b, 0)) / requests) * 1e6;
    process.stdout.write(
      `  ${r.name.padEnd(16)} ${r.rps.toFixed(0).padStart(7)} req/s  ${(r.rps / base).toFixed(2)}x of x1  errors ${r.errors}  ` +
        `CPU s per process ${r.cpu.map((c) => c.toFixed(1)).join(' / ')}  ` +
        `per request: proxy ${proxyUs.toFixed(1)} us, rest of the machine ${restUs.toFixed(1)} us\n`,
    );
  }
  const x2 = results.find((r) => r.name === 'gateway x2');
  if (x2) {
    // The workers' own cost per request, x2 against x1: when it holds, two workers with two free
    // cores serve twice one worker's rate. Whether this run could show that is the machine's
    // busy share: at ~100% the generator and the upstream took the CPU the second worker needed.
    const x1 = results[0];
    const perRequest = (r: Result) => r.cpu.reduce((a, b) => a + b, 0) / r.rps;
    const busy = (r: Result) => (100 * r.machineCpu) / (cores * DURATION);
    process.stdout.write(
      `  --concurrency 2 vs 1: ${(x2.rps / base).toFixed(2)}x (issue's target 1.7x: ${x2.rps / base >= 1.7 ? 'PASS' : 'MISS'}); ` +
        `machine busy ${busy(x1).toFixed(0)}% (x1) and ${busy(x2).toFixed(0)}% (x2); ` +
        `proxy CPU per request x2/x1 ${(perRequest(x2) / perRequest(x1)).toFixed(2)}\n`,
    );
  }
  const n1 = results.find((r) => r.name === 'nginx x1');
  const n2 = results.find((r) => r.name === 'nginx x2');
  if (n1 && n2)
    process.stdout.write(
      `  nginx 2 workers vs 1 in the same run: ${(n2.rps / n1.rps).toFixed(2)}x\n`,
    );
  await sleep(0);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench gateway: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
