/** `ferry demo` (npm start) as a real process: traffic flows through the mesh, then it all stops. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ferry demo', function () {
  this.timeout(60_000);

  it('runs a whole mesh, splits reviews 80/20, and leaves no process behind', async () => {
    const child = spawn(process.execPath, [MAIN, 'demo', '--duration', '5', '--rate', '40'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const total = /total traffic: (\d+) requests, ([\d.]+)% ok, reviews v1 (\d+), v2 (\d+)/.exec(
      out,
    );
    console.log(`      ${total?.[0] ?? out}`);
    assert.equal(code, 0, out);
    assert.ok(total, out);
    const [requests, okPct, v1, v2] = [
      Number(total[1]),
      Number(total[2]),
      Number(total[3]),
      Number(total[4]),
    ];
    assert.ok(requests >= 100, `${requests} requests`);
    assert.equal(okPct, 100);
    assert.ok(v2 > 0 && v1 > v2 * 2, `v1 ${v1}, v2 ${v2}`);
    const pids = (/pids: ([\d ]+)/.exec(out)?.[1] ?? '').trim().split(' ').map(Number);
    assert.equal(pids.length, 9);
    assert.deepEqual(pids.filter(alive), [], 'every child process has exited');
  });
});
