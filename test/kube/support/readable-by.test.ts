/**
 * Regression (issue 15): `npm test` from a private checkout (a clone under /root, mode 0700)
 * failed three capture tests with `Cannot find module .../probe-client.js`, because they run
 * node as uid 1337. What such a uid can read is now checked; a self-contained script is
 * copied where it can read it, and node really runs the copy as that uid.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isRoot } from './netns.js';
import { readableCopy, runAsSkipReason, unreadableBy } from './readable-by.js';

const exec = promisify(execFile);

describe('files another uid can read (private checkouts)', () => {
  let dir: string;
  let script: string;

  before(function () {
    if (!isRoot()) {
      console.log('    (skipped: running a process as another uid needs root)');
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), 'ferry-private-'));
    chmodSync(dir, 0o700);
    script = path.join(dir, 'probe.js');
    writeFileSync(script, 'process.stdout.write(String(process.getuid()));\n');
    chmodSync(script, 0o644);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('names the directory that keeps uid 1337 out', () => {
    assert.equal(unreadableBy(1337, 1337, script), dir);
    assert.equal(unreadableBy(0, 0, script), undefined);
    assert.match(runAsSkipReason(1337, [script]) ?? '', new RegExp(`uid 1337 cannot read ${dir}`));
  });

  it('copies a script where uid 1337 can read it, and node runs it as 1337', async () => {
    const copy = readableCopy(script, 1337);
    assert.notEqual(copy, script);
    assert.equal(unreadableBy(1337, 1337, copy), undefined);
    const run = (file: string) =>
      exec('setpriv', ['--reuid=1337', '--regid=1337', '--clear-groups', process.execPath, file]);
    assert.equal((await run(copy)).stdout, '1337');
    await assert.rejects(run(script), /Cannot find module|EACCES|permission denied/i);
  });

  it('leaves a readable file where it is', () => {
    chmodSync(dir, 0o755);
    try {
      assert.equal(readableCopy(script, 4242), script);
    } finally {
      chmodSync(dir, 0o700);
    }
  });
});
