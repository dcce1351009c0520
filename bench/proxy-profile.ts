/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`) of a sidecar: where the busy time goes,
 * by area (Ferry, undici, node core, GC, ...) and by function, self and inclusive time.
 * Optionally only the samples inside given time windows (CLOCK_MONOTONIC microseconds, the
 * clock of both the profile and process.hrtime), so that startup and idle gaps are left out.
 *
 *   node dist/bench/proxy-profile.js FILE.cpuprofile [--top 25] [--requests N]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SummaryOptions {
  /** Functions to list; default 25. */
  readonly top?: number;
  /** Only samples inside these [from, to] windows, microseconds. */
  readonly windows?: readonly (readonly [number, number])[];
  /** Requests served in the profiled time (or windows): adds a per-request column. */
  readonly requests?: number;
}

const SOCKET_WRITES = /^write(Buffer|v|Latin1String|Utf8String|AsciiString|Ucs2String)$/;
const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** The area a frame belongs to. */
function areaOf(f: CallFrame): string {
  if (SPECIAL.has(f.functionName)) return f.functionName;
  const url = f.url;
  if (!url && SOCKET_WRITES.test(f.functionName))
    return '(native socket writes: the write syscall, loopback TCP included)';
  if (!url) return '(native: other V8 builtins and C++ bindings)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const i = url.indexOf('/dist/src/');
  if (i >= 0) return `ferry ${path.dirname(url.slice(i + 10))}`;
  return url.replace(/^file:\/\//, '');
}

function where(f: CallFrame): string {
  if (!f.url) return '';
  let u = f.url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) u = u.slice(nm + 14);
  else {
    const i = u.indexOf('/dist/');
    if (i >= 0) u = u.slice(i + 6);
  }
  return `${u}:${f.lineNumber + 1}`;
}

const keyOf = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'} ${f.url}:${f.lineNumber}:${f.columnNumber}`;

export function summarizeProfile(file: string, opts: SummaryOptions = {}): string {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const inWindow = (t: number) =>
    !opts.windows || opts.windows.some(([from, to]) => t >= from && t <= to);

  const selfUs = new Map<number, number>();
  let t = prof.startTime;
  let totalUs = 0;
  const n = prof.samples.length;
  for (let i = 0; i < n; i++) {
    t += prof.timeDeltas[i];
    // A sample stands for the time until the next one.
    const dur = i + 1 < n ? prof.timeDeltas[i + 1] : 0;
    if (dur <= 0 || !inWindow(t)) continue;
    totalUs += dur;
    selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + dur);
  }

  const idleUs = [...selfUs]
    .filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)')
    .reduce((s, [, us]) => s + us, 0);
  const busyUs = totalUs - idleUs;

  const areas = new Map<string, number>();
  const self = new Map<string, { f: CallFrame; us: number }>();
  const incl = new Map<string, { f: CallFrame; us: number }>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    areas.set(areaOf(f), (areas.get(areaOf(f)) ?? 0) + us);
    const k = keyOf(f);
    const s = self.get(k) ?? { f, us: 0 };
    s.us += us;
    self.set(k, s);
    // Inclusive: every distinct function on the stack, once per sample.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      const ck = keyOf(cf);
      if (cf.functionName === '(root)' || seen.has(ck)) continue;
      seen.add(ck);
      const e = incl.get(ck) ?? { f: cf, us: 0 };
      e.us += us;
      incl.set(ck, e);
    }
  }

  const top = opts.top ?? 25;
  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const perReq = (us: number) =>
    opts.requests ? `${(us / opts.requests).toFixed(2).padStart(7)} ` : '';
  const reqHead = opts.requests ? ' us/req ' : '';
  const lines: string[] = [];
  lines.push(
    `${path.basename(file)}: ${(totalUs / 1e6).toFixed(1)} s sampled` +
      `${opts.windows ? ' (load windows only)' : ''}, busy ${(busyUs / 1e6).toFixed(2)} s` +
      ` (${((100 * busyUs) / Math.max(totalUs, 1)).toFixed(0)}%)` +
      (opts.requests
        ? `, ${opts.requests} requests: ${(busyUs / opts.requests).toFixed(1)} us of main-thread CPU per request`
        : ''),
  );
  lines.push('', `  by area (share of busy time)`);
  for (const [area, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 14))
    lines.push(`    ${pct(us)} ${perReq(us)} ${area}`);
  lines.push('', `  top ${top} functions by self time`, `     self ${reqHead} function`);
  for (const { f, us } of [...self.values()].sort((x, y) => y.us - x.us).slice(0, top))
    lines.push(`    ${pct(us)} ${perReq(us)} ${f.functionName || '(anonymous)'}  ${where(f)}`);
  lines.push(
    '',
    `  Ferry functions by inclusive time (self + what they call)`,
    `     incl ${reqHead} function`,
  );
  for (const { f, us } of [...incl.values()]
    .filter((e) => e.f.url.includes('/dist/src/'))
    .sort((x, y) => y.us - x.us)
    .slice(0, top))
    lines.push(`    ${pct(us)} ${perReq(us)} ${f.functionName || '(anonymous)'}  ${where(f)}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string' }, requests: { type: 'string' } },
  });
  if (positionals.length === 0) {
    process.stderr.write('usage: proxy-profile.js FILE.cpuprofile... [--top N] [--requests N]\n');
    process.exit(2);
  }
  for (const file of positionals)
    process.stdout.write(
      `${summarizeProfile(file, {
        top: values.top ? Number(values.top) : undefined,
        requests: values.requests ? Number(values.requests) : undefined,
      })}\n\n`,
    );
}
