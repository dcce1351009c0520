/**
 * `ferry demo` (what `npm start` runs) as a real process: traffic flows through the mesh
 * with both reviews versions answering, and however the demo ends (its time is up, Ctrl-C,
 * or it is killed outright) no process it started is left behind.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

interface Demo {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the output matches `pattern` (rejects if the demo exits first). */
  readonly when: (pattern: RegExp) => Promise<RegExpExecArray>;
}

const started: number[] = [];

function startDemo(args: string[]): Demo {
  const child = spawn(process.execPath, [MAIN, 'demo', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d;
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  const when = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out);
        if (!m) return;
        listeners.delete(check);
        resolve(m);
      };
      listeners.add(check);
      check();
      exited.then(() => reject(new Error(`the demo exited before ${pattern}:\n${out}`)));
    });
  return { child, output: () => out, exited, when };
}

/** The demo's exit, or (after `ms`) a failure that shows what it printed so far. */
function exitWithin(demo: Demo, ms: number) {
  return Promise.race([
    demo.exited,
    new Promise<never>((_, reject) =>
      setTimeout(
        () =>
          reject(
            new Error(`the demo has not exited after ${ms} ms; it printed:\n${demo.output()}`),
          ),
        ms,
      ).unref(),
    ),
  ]);
}

/** The pids from the "what runs where" table. */
async function pidsOf(demo: Demo): Promise<number[]> {
  const m = await demo.when(/^pids +([\d ]+)$/m);
  const pids = m[1].trim().split(/ +/).map(Number);
  started.push(...pids);
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function allGone(pids: number[], withinMs: number): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const TOTAL =
  /^total: (\d+) requests in [\d.]+ s, ([\d.]+)% ok, reviews v1 (\d+) \(\d+%\) v2 (\d+) \(\d+%\)/m;

describe('ferry demo (npm start)', function () {
  this.timeout(60_000);

  after(() => {
    // Should a test fail half-way, leave nothing running.
    for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL');
  });

  it('sends traffic through the mesh to both reviews versions, stops after --duration, exits 0, leaves nothing', async () => {
    const demo = startDemo(['--duration', '5', '--rate', '40']);
    const pids = await pidsOf(demo);
    const { code } = await exitWithin(demo, 50_000);
    const out = demo.output();
    assert.equal(code, 0, out);
    // The table names every process: the control plane, four apps, four sidecars, the gateway.
    assert.equal(pids.length, 10, out);
    assert.match(out, /^gateway default\/edge \(ferry gateway, pid \d+\): the way into the mesh$/m);
    assert.match(out, /^traffic +40 requests\/s from outside the mesh to the gateway/m);
    assert.match(
      out,
      /^control plane \(pid \d+\)\n {2}dashboard {2}http:\/\/127\.0\.0\.1:\d+\/ .*\n {2}xDS {3}127\.0\.0\.1:\d+ \(plaintext\), 127\.0\.0\.1:\d+ \(TLS.*\n {2}HTTP {2}http:\/\/127\.0\.0\.1:\d+\/debug\/syncz/m,
    );
    assert.match(out, /^reviews +v2 +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ +\d+$/m);
    assert.match(out, /http:\/\/127\.0\.0\.1:\d+\/clusters/);
    assert.match(out, /^traffic: \d+ requests in/m, 'a summary every 2 s');
    // Progress while it starts, each step as it completes, the mesh ready before traffic.
    const steps = [
      /^starting the control plane \.\.\.$/m,
      /^ {2}control plane up, its CA made \(pid \d+\) \([\d.]+ s\)$/m,
      /^ {2}sidecar reviews v2 ready: certificate and configuration in force \([\d.]+ s\)$/m,
      /^ {2}frontend-v1 sees every instance \([\d.]+ s\)$/m,
      /^ {2}gateway default\/edge answered through reviews v1 and v2: the mesh is ready \([\d.]+ s\)$/m,
      /^traffic: /m,
    ];
    const at = steps.map((re) => out.search(re));
    assert.ok(
      at.every((i, n) => i >= 0 && (n === 0 || i > (at[n - 1] ?? 0))),
      out,
    );
    const total = TOTAL.exec(out);
    assert.ok(total, out);
    const [requests, okPct, v1, v2] = total.slice(1).map(Number);
    assert.ok(requests >= 100, `${requests} requests in 5 s at 40/s`);
    assert.ok(okPct >= 95, `${okPct}% ok`);
    assert.ok(v2 > 0, 'reviews v2 answered');
    assert.ok(v1 > v2, `the 80/20 split favours v1: v1 ${v1}, v2 ${v2}`);
    assert.match(out, /^stopped: every process has exited$/m);
    assert.deepEqual(await allGone(pids, 0), [], 'every process the demo started has exited');
  });

  it('sends its traffic through the gateway; stops cleanly on Ctrl-C (SIGINT): traffic first, then every process, exit 0', async () => {
    const demo = startDemo(['--rate', '20']);
    const pids = await pidsOf(demo);
    const metricsUrl = (
      await demo.when(/metrics (http:\/\/127\.0\.0\.1:\d+\/stats\/prometheus)/)
    )[1]!;
    const first = await demo.when(/^traffic: (\d+) requests in [\d.]+ s, 100\.0% ok/m);
    // The gateway reports what it sent into the mesh as Istio's gateways do: reporter
    // "source", itself the source workload, frontend the destination.
    const metrics = await (await fetch(metricsUrl)).text();
    const through = [...metrics.matchAll(/^istio_requests_total\{([^}]*)\} (\d+)$/gm)].filter(
      ([, labels]) =>
        /(^|,)reporter="source"/.test(labels!) &&
        /(^|,)source_workload="edge"/.test(labels!) &&
        /(^|,)destination_service_name="frontend"/.test(labels!) &&
        /(^|,)response_code="200"/.test(labels!),
    );
    const counted = through.reduce((n, m) => n + Number(m[2]), 0);
    assert.ok(
      counted >= Number(first[1]),
      `the gateway counted ${counted} requests to frontend, the first window ${first[1]}:\n${metrics}`,
    );
    demo.child.kill('SIGINT');
    const { code } = await demo.exited;
    const out = demo.output();
    assert.equal(code, 0, out);
    assert.ok(TOTAL.exec(out), out);
    assert.match(out, /^stopped: every process has exited$/m);
    assert.deepEqual(await allGone(pids, 0), []);
  });

  it('leaves nothing behind when it is killed outright (SIGKILL)', async () => {
    const demo = startDemo(['--rate', '5']);
    const pids = await pidsOf(demo);
    demo.child.kill('SIGKILL');
    await demo.exited;
    // Each child sees the demo's IPC channel close and stops itself (sidecars drain).
    assert.deepEqual(await allGone(pids, 10_000), [], demo.output());
  });

  it('announces each mesh file edit: applied with what changed, rejected as FILE:LINE:COL', async () => {
    const file = path.join(tmpdir(), `ferry-demo-edit-${process.pid}.yaml`);
    await copyFile(path.join(path.dirname(MAIN), '../../../examples/demo/mesh.yaml'), file);
    const good = await readFile(file, 'utf8');
    try {
      const demo = startDemo(['--mesh', file, '--rate', '5']);
      const pids = await pidsOf(demo);
      await demo.when(/^traffic: /m);
      await writeFile(
        file,
        good.replace('weight: 80 }', 'weight: 50 }').replace('weight: 20 }', 'weight: 50 }'),
      );
      await demo.when(
        /^\[control-plane\] \S+ferry-demo-edit-\d+\.yaml applied: routes of reviews changed$/m,
      );
      await writeFile(file, good.replace('timeout: 4s', 'timeoutx: 4s'));
      const rejected = await demo.when(/^\[control-plane\] (\S+):(\d+):(\d+): (.*)$/m);
      assert.ok(rejected[1]?.endsWith(`ferry-demo-edit-${process.pid}.yaml`));
      assert.match(
        rejected[4] ?? '',
        /timeoutx: unknown property .*\(edit rejected; the last good configuration stays\)$/,
      );
      demo.child.kill('SIGINT');
      const { code } = await demo.exited;
      assert.equal(code, 0, demo.output());
      assert.doesNotMatch(demo.output(), /^\[[^\]]+\] \{/m, 'no raw JSON log lines');
      assert.deepEqual(await allGone(pids, 0), []);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('reports every error of a bad mesh file in one place and starts nothing', async () => {
    const file = path.join(tmpdir(), `ferry-demo-bad-${process.pid}.yaml`);
    await writeFile(file, 'services:\n  - name: frontend\n');
    const demo = startDemo(['--mesh', file]);
    const { code } = await demo.exited;
    assert.equal(code, 1);
    assert.match(demo.output(), /ferry: .*ferry-demo-bad-\d+\.yaml:2:5: services\[0\]\.ports/);
    assert.doesNotMatch(demo.output(), /pids/);
  });

  it('says what is wrong with its options', async () => {
    const demo = startDemo(['--rate', 'lots']);
    const { code } = await demo.exited;
    assert.equal(code, 2);
    assert.match(demo.output(), /--rate must be a number/);
  });
});
