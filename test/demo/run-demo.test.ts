/**
 * runDemo's start-up and shutdown, with a fake `ferry` script in place of the CLI: when a
 * process fails to start, or the demo is stopped while starting, whatever did start is
 * stopped and nothing is left running.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DemoError, runDemo } from '../../src/demo/index.js';
import { waitFor } from '../support/wait-for.js';

const MESH = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../examples/demo/mesh.yaml',
);

/**
 * Plays the ferry CLI: the control plane and the apps start (or hang, with `hang`), every
 * proxy fails. Each run appends its pid to ./pids.
 */
const FAKE_FERRY = `
import { appendFileSync } from 'node:fs';
appendFileSync(new URL('./pids', import.meta.url), process.pid + '\\n');
const [command, , name, , version] = process.argv.slice(2);
const hang = new URL(import.meta.url).pathname.endsWith('hang.mjs');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
if (command === 'control-plane' && !hang) {
  console.log('ferry control plane: xDS on 127.0.0.1:1, xDS+identity over TLS on 127.0.0.1:4 as spiffe://cluster.local/ns/ferry-system/sa/ferry-control-plane, HTTP on http://127.0.0.1:2/ (config x)');
} else if (command === 'demo') {
  console.log('demo app ' + name + ' ' + version + ' listening on 127.0.0.1:3');
} else if (command === 'proxy') {
  console.error('ferry: cannot listen on 127.0.0.1:0');
  process.exit(1);
}
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** This process's children whose command line names `dir`. */
function childrenRunning(dir: string): string[] {
  return execFileSync('ps', ['-A', '-o', 'ppid=,pid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(
      ([ppid, , stat, ...args]) =>
        Number(ppid) === process.pid && !stat?.startsWith('Z') && args.join(' ').includes(dir),
    )
    .map((fields) => fields.join(' '));
}

describe('runDemo start-up', function () {
  this.timeout(20_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-demo-'));
    await writeFile(path.join(dir, 'fail.mjs'), FAKE_FERRY);
    await writeFile(path.join(dir, 'hang.mjs'), FAKE_FERRY);
  });

  after(() => rm(dir, { recursive: true, force: true }));

  async function pids(): Promise<number[]> {
    const text = await readFile(path.join(dir, 'pids'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map(Number);
  }

  afterEach(async () => {
    for (const pid of (await pids()).filter(alive)) process.kill(pid, 'SIGKILL');
    await rm(path.join(dir, 'pids'), { force: true });
  });

  it('a sidecar that fails to start: one DemoError, its output shown, everything stopped', async () => {
    const lines: string[] = [];
    await assert.rejects(
      runDemo({
        meshFile: MESH,
        ferryMain: path.join(dir, 'fail.mjs'),
        durationS: 1,
        rate: 1,
        print: (l) => lines.push(l),
        signal: new AbortController().signal,
      }),
      (err: unknown) => {
        assert.ok(err instanceof DemoError, String(err));
        assert.match(err.message, /^sidecar \w+ v\d ended \(code 1\)$/);
        return true;
      },
    );
    assert.ok(
      lines.some((l) => /^\[sidecar \w+ v\d\] ferry: cannot listen on 127\.0\.0\.1:0$/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.includes('stopped: every process has exited'), lines.join('\n'));
    assert.deepEqual((await pids()).filter(alive), []);
    // Also those stopped before they could write their pid.
    assert.deepEqual(childrenRunning(dir), []);
  });

  it('stopped while starting (Ctrl-C): no error, no traffic, everything stopped', async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    const running = runDemo({
      meshFile: MESH,
      ferryMain: path.join(dir, 'hang.mjs'),
      durationS: 0,
      rate: 1,
      print: (l) => lines.push(l),
      signal: stop.signal,
    });
    // Stopped once the control plane runs (and hangs before its ports line): a condition,
    // not a fixed delay, which a loaded machine overran before the control plane had started.
    await waitFor('the control plane to start', async () => (await pids()).length === 1, 15_000);
    stop.abort();
    const result = await running;
    assert.equal(result.traffic, undefined);
    assert.deepEqual(result.killed, []);
    assert.ok(lines.includes('stopped: every process has exited'), lines.join('\n'));
    const started = await pids();
    assert.equal(started.length, 1, 'only the control plane had started');
    assert.deepEqual(started.filter(alive), []);
    assert.deepEqual(childrenRunning(dir), []);
  });
});
