/**
 * The local demo: a control plane, three demo services (frontend -> catalog and reviews,
 * reviews in v1 and v2 with an 80/20 split), each instance with its own sidecar, and a
 * traffic generator, all on 127.0.0.1. It prints what runs where and stops everything
 * cleanly on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../controlplane/index.js';
import type { Logger } from '../log/index.js';
import { formatSummary, generate, type TrafficSummary } from './traffic.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, '../cli/main.js');
const APP = path.join(HERE, 'app.js');

export interface DemoOptions {
  readonly meshFile: string;
  /** Seconds to run; 0 = until stopped. */
  readonly durationS: number;
  /** Requests a second from the traffic generator. */
  readonly rate: number;
  readonly log: Logger;
  readonly print: (line: string) => void;
  /** Aborted to stop the demo (Ctrl-C). */
  readonly signal: AbortSignal;
}

interface Instance {
  readonly service: string;
  readonly version: string;
  readonly app?: { child: ChildProcess; port: number };
  readonly sidecar: { child: ChildProcess; ports: Record<string, number> };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Starts a child and resolves with the first stdout line matching `ready`. */
function startChild(
  label: string,
  args: string[],
  ready: RegExp,
  print: (line: string) => void,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    // Detached: a Ctrl-C in the terminal reaches the demo alone, which stops the traffic
    // first and then its children, in order.
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const timer = setTimeout(() => reject(new Error(`${label} did not start`)), 15_000);
    let resolved = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = ready.exec(line);
      if (m && !resolved) {
        resolved = true;
        clearTimeout(timer);
        resolve({ child, match: m });
      } else if (resolved) print(`[${label}] ${line}`);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => print(`[${label}] ${line}`));
    child.once('exit', (code) => {
      if (!resolved) {
        clearTimeout(timer);
        reject(new Error(`${label} exited with ${code}`));
      }
    });
  });
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sidecar ready port ${port} never answered 200`);
}

export async function runDemo(o: DemoOptions): Promise<TrafficSummary> {
  const cp = await ControlPlane.start({
    configPath: o.meshFile,
    xdsPort: 0,
    httpPort: 0,
    log: o.log,
  });
  const children: ChildProcess[] = [];
  const instances: Instance[] = [];
  try {
    const sidecarArgs = (
      service: string,
      version: string,
      appPort: number | undefined,
      outbound: number,
    ) => [
      CLI,
      'proxy',
      '--xds',
      `127.0.0.1:${cp.xdsPort}`,
      '--service',
      service,
      '--id',
      `${service}-${version}`,
      '--labels',
      `version=${version}`,
      ...(appPort ? ['--app-port', String(appPort)] : []),
      '--outbound-port',
      String(outbound),
      '--inbound-port',
      '0',
      '--admin-port',
      '0',
      '--metrics-port',
      '0',
      '--ready-port',
      '0',
      '--log-level',
      'warn',
    ];
    const plan: Array<[string, string]> = [
      ['catalog', 'v1'],
      ['reviews', 'v1'],
      ['reviews', 'v2'],
      ['frontend', 'v1'],
      ['loadgen', 'v1'],
    ];
    const portsRe = /outbound (\d+), inbound (\d+), admin (\d+), metrics (\d+), ready (\d+)/;
    for (const [service, version] of plan) {
      const outbound = await freePort();
      let app: Instance['app'];
      if (service !== 'loadgen') {
        const a = await startChild(
          `${service}-${version}`,
          [APP, service, version, '0', String(outbound)],
          /^listening (\d+)/,
          o.print,
        );
        children.push(a.child);
        app = { child: a.child, port: Number(a.match[1]) };
      }
      const s = await startChild(
        `sidecar ${service}-${version}`,
        sidecarArgs(service, version, app?.port, outbound),
        portsRe,
        o.print,
      );
      children.push(s.child);
      const [, out, inbound, admin, metrics, ready] = s.match.map(Number);
      await waitReady(ready);
      instances.push({
        service,
        version,
        app,
        sidecar: { child: s.child, ports: { outbound: out, inbound, admin, metrics, ready } },
      });
    }
    o.print('');
    o.print('Ferry demo: a whole mesh on 127.0.0.1');
    o.print(
      `  control plane   xDS 127.0.0.1:${cp.xdsPort}   http://127.0.0.1:${cp.httpPort}/debug/syncz   /debug/registry   /metrics`,
    );
    for (const i of instances) {
      const p = i.sidecar.ports;
      o.print(
        `  ${`${i.service} ${i.version}`.padEnd(14)}  app ${i.app ? String(i.app.port).padEnd(5) : '-    '}  sidecar pid ${String(i.sidecar.child.pid).padEnd(7)} ` +
          `outbound ${p.outbound}  inbound ${p.inbound}  admin http://127.0.0.1:${p.admin}/clusters`,
      );
    }
    o.print(`  pids: ${children.map((c) => c.pid).join(' ')}`);
    o.print(`  mesh file: ${o.meshFile} (edit it: the change is applied within a second)`);
    o.print(
      `  traffic: ${o.rate} requests/s to frontend through the loadgen sidecar. Ctrl-C stops.`,
    );
    o.print('');
    const loadgen = instances.find((i) => i.service === 'loadgen')!;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    o.signal.addEventListener('abort', onAbort);
    if (o.durationS > 0) setTimeout(onAbort, o.durationS * 1000).unref();
    const total = await generate(loadgen.sidecar.ports.outbound, o.rate, stop.signal, (w) =>
      o.print(formatSummary(w)),
    );
    o.print(`total ${formatSummary(total)}`);
    return total;
  } finally {
    // Sidecars first (they drain), then the apps, then the control plane.
    const exits = children.map(
      (c) => new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('exit', () => r()))),
    );
    for (const c of [...children].reverse()) c.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const c of children) c.kill('SIGKILL');
    }, 8000);
    await Promise.all(exits);
    clearTimeout(killer);
    await cp.close();
    o.print('demo stopped: every process has exited');
  }
}
