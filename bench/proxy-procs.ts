/**
 * Process plumbing for `npm run bench`: children started in their own process group (so a
 * child's own children, nginx's worker for one, go with it), optionally pinned to a CPU with
 * taskset, each wait with a time limit, and the per-process and per-CPU counters read from
 * /proc. Everything started through `Processes` is stopped by `killAll`, which is
 * synchronous so that it can run from an 'exit' handler.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';

export { EPHEMERAL_PORTS } from '../test/support/ephemeral-ports.js';

export const TASKSET = ['/usr/bin/taskset', '/bin/taskset', '/usr/local/bin/taskset'].find((p) =>
  existsSync(p),
);

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last lines the child wrote (stdout and stderr), for error messages. */
  readonly tail: string[];
  /** Called with every stdout line. */
  readonly lineListeners: Set<(line: string) => void>;
}

export interface SpawnOptions {
  /** Pin the child to these CPUs, a taskset list such as "0" or "0-1" (when pinning is on). */
  readonly cpu?: number | string;
  /** Called with every stdout line. */
  readonly onLine?: (line: string) => void;
}

export class Processes {
  private readonly live = new Set<Child>();

  constructor(private readonly pin: boolean) {}

  get pinning(): boolean {
    return this.pin && TASKSET !== undefined;
  }

  spawn(name: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): Child {
    const [file, argv] =
      this.pinning && opts.cpu !== undefined
        ? [TASKSET!, ['-c', String(opts.cpu), cmd, ...args]]
        : [cmd, [...args]];
    // detached: its own process group. taskset execs the command, so the pid is the
    // command's own and the group is the command and whatever it starts.
    const proc = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (proc.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
    const child: Child = {
      name,
      process: proc,
      pid: proc.pid,
      tail: [],
      lineListeners: new Set(opts.onLine ? [opts.onLine] : []),
    };
    this.live.add(child);
    proc.once('exit', () => this.live.delete(child));
    proc.once('error', () => this.live.delete(child));
    const keep = (line: string) => {
      child.tail.push(line);
      if (child.tail.length > 20) child.tail.shift();
    };
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      keep(line);
      for (const l of child.lineListeners) l(line);
    });
    createInterface({ input: proc.stderr! }).on('line', keep);
    return child;
  }

  /** Resolves with the first stdout line matching `re`; rejects if the child exits first. */
  waitForLine(child: Child, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const proc = child.process;
      const done = (err: Error | undefined, m?: RegExpExecArray) => {
        clearTimeout(timer);
        child.lineListeners.delete(onLine);
        proc.off('exit', onExit);
        if (err) reject(err);
        else resolve(m!);
      };
      const onLine = (line: string) => {
        const m = re.exec(line);
        if (m) done(undefined, m);
      };
      const onExit = (code: number | null, signal: string | null) =>
        // Give the stderr pipe a moment so the error message is in the tail.
        setTimeout(
          () =>
            done(
              new Error(
                `${child.name} exited (${signal ?? code}) before it was up:\n  ${child.tail.join('\n  ')}`,
              ),
            ),
          50,
        );
      const timer = setTimeout(
        () =>
          done(
            new Error(
              `${child.name} did not start within ${timeoutMs} ms:\n  ${child.tail.join('\n  ')}`,
            ),
          ),
        timeoutMs,
      );
      child.lineListeners.add(onLine);
      proc.once('exit', onExit);
      if (proc.exitCode !== null || proc.signalCode !== null)
        onExit(proc.exitCode, proc.signalCode);
    });
  }

  /** Resolves when the child has exited, or rejects after `timeoutMs`. */
  waitExit(child: Child, timeoutMs: number): Promise<number | null> {
    const proc = child.process;
    if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.off('exit', onExit);
        reject(new Error(`${child.name} still running after ${timeoutMs} ms`));
      }, timeoutMs);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        resolve(code);
      };
      proc.once('exit', onExit);
    });
  }

  /** Moves every thread of each process to the CPUs in `list` (a no-op unless pinning). */
  setAffinity(pids: readonly number[], list: number | string): void {
    if (!this.pinning) return;
    for (const pid of pids)
      execFileSync(TASKSET!, ['-a', '-p', '-c', String(list), String(pid)], {
        stdio: 'ignore',
        timeout: 2000,
      });
  }

  /** Signals the child's process group, waits up to `graceMs`, then kills the group. */
  async stop(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
    signalGroup(child.pid, signal);
    try {
      await this.waitExit(child, graceMs);
    } catch {
      signalGroup(child.pid, 'SIGKILL');
      await this.waitExit(child, 2000).catch(() => undefined);
    }
    // Whatever the child left behind in its group (e.g. an nginx worker) goes too.
    signalGroup(child.pid, 'SIGKILL');
    this.live.delete(child);
  }

  /** Kills every child still running, and its process group. Synchronous. */
  killAll(): void {
    for (const child of this.live) signalGroup(child.pid, 'SIGKILL');
    this.live.clear();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Polls `check` every `intervalMs` until it returns true; throws after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: gave up after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One GET on a fresh connection, with a time limit. Rejects on any error. */
export function httpGet(
  port: number,
  path: string,
  opts: { host?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        headers: opts.host ? { host: opts.host } : {},
        timeout: opts.timeoutMs ?? 2000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET :${port}${path} timed out`)));
    req.on('error', reject);
  });
}

/** true if a GET answers `status` (default 200), false on any error. */
export async function answers(port: number, path: string, host?: string): Promise<boolean> {
  try {
    return (await httpGet(port, path, { host, timeoutMs: 1000 })).status === 200;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago (for programs that cannot be told to pick one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const CLK_TCK = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/**
 * CPU time of a process, all its threads, in ms: the sum of /proc/PID/task/STAR/schedstat
 * (nanoseconds), or utime + stime from /proc/PID/stat (10 ms ticks) if schedstat is absent.
 */
export function cpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended
      }
    }
    if (ns > 0) return ns / 1e6;
  } catch {
    // fall through
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return m ? Number(m[1]) : Number.NaN;
}

/** Peak resident set (VmHWM), MiB. */
export const peakRssMiB = (pid: number) => statusKiB(pid, 'VmHWM') / 1024;
/** Current resident set (VmRSS), MiB. */
export const rssMiB = (pid: number) => statusKiB(pid, 'VmRSS') / 1024;

/** Pids whose parent is `pid`. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Busy and total jiffies per CPU, from /proc/stat. */
export function cpuJiffies(): Map<number, { busy: number; total: number }> {
  const out = new Map<number, { busy: number; total: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(Number(m[1]), { busy: total - v[3] - v[4], total });
  }
  return out;
}

/** Share of time each CPU was busy between two `cpuJiffies` readings, 0..1. */
export function busyShare(
  before: Map<number, { busy: number; total: number }>,
  after: Map<number, { busy: number; total: number }>,
  cpu: number,
): number {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return Number.NaN;
  return (b.busy - a.busy) / (b.total - a.total);
}

interface ProcSample {
  readonly ppid: number;
  readonly start: number;
  readonly cpuMs: number;
  readonly name: string;
}

function sampleAll(): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const f = stat.slice(close + 2).split(' ');
      out.set(Number(name), {
        ppid: Number(f[1]),
        start: Number(f[19]),
        cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK,
        name: stat.slice(stat.indexOf('(') + 1, close),
      });
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * CPU used by processes that are not this one's descendants (nor kernel threads) between
 * `begin()` and `end()`: other work on the machine that competes with the benchmark.
 * Processes that both start and end in between are not seen.
 */
export class ForeignCpu {
  private before = sampleAll();
  private t0 = performance.now();

  begin(): void {
    this.before = sampleAll();
    this.t0 = performance.now();
  }

  /** Share of one CPU the other processes used, and the busiest of them. */
  end(): { share: number; top: string } {
    const after = sampleAll();
    const wall = performance.now() - this.t0;
    const ours = (pid: number): boolean => {
      for (let p = pid, i = 0; p > 1 && i < 64; i++) {
        if (p === process.pid) return true;
        const s = after.get(p) ?? this.before.get(p);
        if (!s) return false;
        p = s.ppid;
      }
      return false;
    };
    let total = 0;
    let topMs = 0;
    let top = '';
    for (const [pid, s] of after) {
      if (pid === 2 || s.ppid === 2 || ours(pid)) continue;
      const b = this.before.get(pid);
      const ms = b && b.start === s.start ? s.cpuMs - b.cpuMs : s.cpuMs;
      total += ms;
      if (ms > topMs) {
        topMs = ms;
        top = `${s.name} (${pid})`;
      }
    }
    return { share: total / wall, top };
  }
}

/** User and system CPU time of a process (all threads, /proc/PID/stat), ms; 10 ms ticks. */
export function userSysMs(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(f[11]) * 1000) / CLK_TCK, sys: (Number(f[12]) * 1000) / CLK_TCK };
}
