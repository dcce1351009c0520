/**
 * `npm run bench`: the sidecar's data path against a direct connection, http-proxy and
 * nginx (when installed), in one run: saturation requests/s, p50/p90/p99 at a fixed
 * 1,000 requests/s, CPU ms per 1,000 requests and peak RSS of the proxy processes, as
 * ratios. One hop: client -> sidecar -> upstream; mesh hop: client -> sidecar -> sidecar
 * -> upstream. With 2 cores, the proxies run on CPU 0 and the load generator and the
 * upstream on CPU 1 (taskset), so that what is measured is the proxy.
 *   npm run bench -- [--seconds 8] [--rate-seconds 5]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, '../src/cli/main.js');
const LOAD = path.join(HERE, 'proxy-load.js');
const SERVERS = path.join(HERE, 'proxy-servers.js');

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string' },
    'rate-seconds': { type: 'string' },
    connections: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds ?? 8);
const RATE_SECONDS = Number(args['rate-seconds'] ?? 5);
const CONNECTIONS = Number(args.connections ?? 64);

const children: ChildProcess[] = [];
const tmp = mkdtempSync(path.join(tmpdir(), 'ferry-bench-'));
const hasTaskset = existsSync('/usr/bin/taskset');
const wrk = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));
const nginxBin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function pinned(cpu: number, cmd: string, argv: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(cpu), cmd, ...argv]] : [cmd, argv];
}

/** Starts a process and resolves with the first stdout line matching `re`. */
function start(
  cpu: number,
  cmd: string,
  argv: string[],
  re: RegExp,
): Promise<{ child: ChildProcess; m: RegExpExecArray }> {
  const [c, a] = pinned(cpu, cmd, argv);
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start`)), 15_000);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = re.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ child, m });
      }
    });
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`)));
  });
}

async function ready(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('sidecar never ready');
}

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * TICK_MS;
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function run(cmd: string, argv: string[]): Promise<string> {
  const [c, a] = pinned(1, cmd, argv);
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}

interface Result {
  name: string;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  cpuPer1k: number;
  rssMiB: number;
}

async function measure(name: string, port: number, host: string, pids: number[]): Promise<Result> {
  const url = `http://127.0.0.1:${port}`;
  const before = cpuMs(pids);
  let rps: number;
  let requests: number;
  if (wrk) {
    const out = await run(wrk, [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${SECONDS}s`,
      '-H',
      `Host: ${host}`,
      `${url}/`,
    ]);
    rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    if (non2xx > 0) throw new Error(`${name}: ${non2xx} failed responses under load`);
  } else {
    const r = JSON.parse(
      await run(process.execPath, [LOAD, 'sat', url, host, String(SECONDS), String(CONNECTIONS)]),
    );
    rps = r.requests / r.seconds;
    requests = r.requests;
    if (r.errors > 0) throw new Error(`${name}: ${r.errors} failed requests under load`);
  }
  const cpu = cpuMs(pids) - before;
  const lat = JSON.parse(
    await run(process.execPath, [LOAD, 'rate', url, host, String(RATE_SECONDS), '1000']),
  );
  if (lat.errors > 0) throw new Error(`${name}: ${lat.errors} failed requests at 1,000 requests/s`);
  const result = {
    name,
    rps,
    p50: lat.p50,
    p90: lat.p90,
    p99: lat.p99,
    cpuPer1k: pids.length ? (cpu / requests) * 1000 : Number.NaN,
    rssMiB: pids.length ? Math.max(...pids.map(peakRssMiB)) : Number.NaN,
  };
  process.stdout.write(`  ${name}: ${Math.round(rps)} req/s, p90 ${lat.p90.toFixed(2)} ms\n`);
  return result;
}

function meshYaml(endpointPort: number | undefined): string {
  return `mesh: { trustDomain: cluster.local }
services:
  - name: upstream
    ports: [{ port: 8080, protocol: http }]
${endpointPort ? `    endpoints: [{ address: 127.0.0.1, port: ${endpointPort} }]\n` : ''}    policy:
      timeout: 5s
      retries: { attempts: 2, on: [5xx, connect-failure, reset] }
`;
}

const PORTS_RE = /outbound (\d+), inbound (\d+), admin \d+, metrics \d+, ready (\d+)/;

async function sidecar(xds: number, service: string, appPort?: number) {
  const argv = [
    CLI,
    'proxy',
    '--xds',
    `127.0.0.1:${xds}`,
    '--service',
    service,
    '--log-level',
    'warn',
    '--outbound-port',
    '0',
    '--inbound-port',
    '0',
    '--admin-port',
    '0',
    '--metrics-port',
    '0',
    '--ready-port',
    '0',
    ...(appPort ? ['--app-port', String(appPort)] : []),
  ];
  const { child, m } = await start(0, process.execPath, argv, PORTS_RE);
  await ready(Number(m[3]));
  return { pid: child.pid!, outbound: Number(m[1]), inbound: Number(m[2]) };
}

async function controlPlane(file: string): Promise<number> {
  const { m } = await start(
    1,
    process.execPath,
    [
      CLI,
      'control-plane',
      '--config',
      file,
      '--xds-port',
      '0',
      '--http-port',
      '0',
      '--log-level',
      'warn',
    ],
    /xDS on 127\.0\.0\.1:(\d+)/,
  );
  return Number(m[1]);
}

function startNginx(upstreamPort: number): Promise<{ pid: number; port: number }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = path.join(tmp, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1; daemon off; pid ${tmp}/nginx.pid; error_log ${tmp}/error.log warn;
events { worker_connections 4096; }
http { access_log off;
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server { listen 127.0.0.1:${port};
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
  );
  const [c, a] = pinned(0, nginxBin!, ['-c', conf, '-p', tmp]);
  const child = spawn(c, a, { stdio: 'ignore' });
  children.push(child);
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = async () => {
      if (
        await fetch(`http://127.0.0.1:${port}/`).then(
          (r) => r.ok,
          () => false,
        )
      ) {
        const worker = execFileSync('pgrep', ['-P', String(child.pid)])
          .toString()
          .trim()
          .split('\n')
          .map(Number);
        resolve({ pid: worker[0] ?? child.pid!, port });
      } else if (Date.now() - t0 > 5000) reject(new Error('nginx did not start'));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

async function main(): Promise<void> {
  process.stdout.write(
    `Ferry data-path benchmark: ${SECONDS}s saturation (${wrk ? 'wrk' : 'node load generator'}, ${CONNECTIONS} connections), ` +
      `${RATE_SECONDS}s at 1,000 requests/s, 100-byte responses, Node ${process.version}` +
      `${hasTaskset ? '; proxies on CPU 0, load generator and upstream on CPU 1' : ''}\n`,
  );
  const up = await start(1, process.execPath, [SERVERS, 'upstream'], /^port (\d+)/);
  const upPort = Number(up.m[1]);
  const results: Result[] = [];
  results.push(await measure('direct', upPort, 'upstream', []));

  const hp = await start(
    0,
    process.execPath,
    [SERVERS, 'http-proxy', String(upPort)],
    /^port (\d+)/,
  );
  results.push(await measure('http-proxy', Number(hp.m[1]), 'upstream', [hp.child.pid!]));
  hp.child.kill();

  if (nginxBin) {
    const ng = await startNginx(upPort);
    results.push(await measure('nginx', ng.port, 'upstream', [ng.pid]));
    children.at(-1)?.kill('SIGQUIT');
  }

  const oneHopFile = path.join(tmp, 'one-hop.yaml');
  writeFileSync(oneHopFile, meshYaml(upPort));
  const xds1 = await controlPlane(oneHopFile);
  const s1 = await sidecar(xds1, 'client');
  results.push(await measure('ferry 1 hop', s1.outbound, 'upstream:8080', [s1.pid]));

  const meshFile = path.join(tmp, 'mesh-hop.yaml');
  writeFileSync(meshFile, meshYaml(undefined));
  const xds2 = await controlPlane(meshFile);
  const server = await sidecar(xds2, 'upstream', upPort);
  const client = await sidecar(xds2, 'client');
  await new Promise((r) => setTimeout(r, 500));
  results.push(
    await measure('ferry mesh hop', client.outbound, 'upstream:8080', [client.pid, server.pid]),
  );

  const by = (n: string) => results.find((r) => r.name === n);
  const direct = by('direct')!;
  const hpR = by('http-proxy')!;
  const ng = by('nginx');
  process.stdout.write(
    '\nvariant          req/s   x direct  x http-proxy  x nginx   p50 ms  p90 ms  p99 ms  cpu ms/1k req  x nginx cpu  peak RSS MiB\n',
  );
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(15)} ${fmt(r.rps).padStart(6)}   ${fmt(r.rps / direct.rps, 2).padStart(7)}   ${fmt(r.rps / hpR.rps, 2).padStart(11)}  ${fmt(ng ? r.rps / ng.rps : Number.NaN, 2).padStart(7)}  ` +
        `${fmt(r.p50, 2).padStart(6)}  ${fmt(r.p90, 2).padStart(6)}  ${fmt(r.p99, 2).padStart(6)}  ${fmt(r.cpuPer1k, 1).padStart(13)}  ${fmt(ng ? r.cpuPer1k / ng.cpuPer1k : Number.NaN, 2).padStart(11)}  ${fmt(r.rssMiB, 1).padStart(12)}\n`,
    );
  }
  const one = by('ferry 1 hop')!;
  const meshHop = by('ferry mesh hop')!;
  const check = (ok: boolean, text: string) =>
    process.stdout.write(`  ${ok ? 'PASS' : 'MISS'}  ${text}\n`);
  process.stdout.write('\nTargets (one hop with routing, retries and metrics on):\n');
  check(one.rps >= 2 * hpR.rps, `throughput >= 2x http-proxy: ${fmt(one.rps / hpR.rps, 2)}x`);
  check(
    one.p90 - direct.p90 <= 0.5,
    `added p90 at 1,000 req/s <= 0.5 ms: +${fmt(one.p90 - direct.p90, 2)} ms`,
  );
  if (ng)
    check(
      one.cpuPer1k <= 2 * ng.cpuPer1k,
      `CPU per request <= 2x nginx: ${fmt(one.cpuPer1k / ng.cpuPer1k, 2)}x`,
    );
  else process.stdout.write('  ----  CPU per request vs nginx: nginx is not installed\n');
  check(
    Math.max(one.rssMiB, meshHop.rssMiB) <= 80,
    `peak RSS per sidecar <= 80 MiB: ${fmt(Math.max(one.rssMiB, meshHop.rssMiB), 1)} MiB`,
  );
}

main()
  .catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    cleanup();
    process.exit();
  });
