/**
 * README's quick tour, run as written: its shell blocks are taken from README.md, and each
 * command runs in a fresh copy of the checkout (the files git tracks or would track, built,
 * with this checkout's node_modules). Comment lines below a command are its documented
 * output: each must appear, in order (`…` matches anything). A command ending in `&` runs
 * in the background until its documented lines have appeared; the rest must exit 0.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface TourStep {
  readonly command: string;
  readonly background: boolean;
  /** Documented output lines, in order. */
  readonly expect: readonly string[];
}

/** The `sh` blocks of README's "## Quick tour" section, as commands and documented output. */
function quickTourSteps(readme: string): TourStep[] {
  const start = readme.indexOf('\n## Quick tour\n');
  assert.ok(start >= 0, 'README has a "## Quick tour" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const steps: Array<{ command: string; background: boolean; expect: string[] }> = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      if (line.startsWith('#')) {
        const last = steps[steps.length - 1];
        assert.ok(last, `output documented before any command: ${line}`);
        last.expect.push(line.replace(/^# ?/, ''));
      } else if (line.trim()) {
        // A trailing "# ..." is an explanation, as the shell reads it too.
        const command = line.replace(/\s+#\s.*$/, '').trim();
        const background = command.endsWith('&');
        steps.push({
          command: background ? command.slice(0, -1).trim() : command,
          background,
          expect: [],
        });
      }
    }
  }
  return steps;
}

/** A documented line as a pattern: `…` is anything, a run of spaces any run (column widths). */
function linePattern(documented: string): RegExp {
  const parts = documented
    .trim()
    .split('…')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ +/g, ' +'));
  return new RegExp(`^\\s*${parts.join('.*')}\\s*$`);
}

/** The documented lines not found in the output, in order ([] when all are there). */
function missingLines(output: string, expect: readonly string[]): string[] {
  const lines = output.split('\n');
  let at = 0;
  for (let i = 0; i < expect.length; i++) {
    const pattern = linePattern(expect[i] ?? '');
    const found = lines.findIndex((l, k) => k >= at && pattern.test(l));
    if (found < 0) return expect.slice(i);
    at = found + 1;
  }
  return [];
}

describe('README quick tour, run as written', function () {
  this.timeout(300_000);
  let copy: string;
  let env: NodeJS.ProcessEnv;
  const background: Array<{ child: ChildProcess; output: () => string }> = [];

  before(function () {
    this.timeout(120_000);
    copy = mkdtempSync(path.join(tmpdir(), 'ferry-readme-'));
    const files = execFileSync(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      { cwd: REPO, encoding: 'utf8' },
    )
      .split('\0')
      .filter((f) => f && f !== 'node_modules');
    for (const f of files) {
      const from = path.join(REPO, f);
      try {
        mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
        cpSync(from, path.join(copy, f));
      } catch (err) {
        // A tracked file deleted in the working tree is not part of the checkout.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    symlinkSync(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'));
    // What `npm install` does after installing the dependencies (the prepare script).
    execFileSync('npm', ['run', 'build'], { cwd: copy, stdio: 'ignore' });
    env = {
      ...process.env,
      // Its own state directory: the tour's commands find the tour's demo, nothing else.
      FERRY_STATE_DIR: path.join(copy, '.test-state'),
      FERRY_CONTROL_PLANE: '',
      npm_config_update_notifier: 'false',
    };
  });

  after(async () => {
    for (const b of background) {
      // The demo stops what it started on SIGINT, as on Ctrl-C.
      if (b.child.exitCode === null && b.child.pid) process.kill(-b.child.pid, 'SIGINT');
    }
    await Promise.all(
      background.map(
        (b) =>
          new Promise<void>((resolve) => {
            if (b.child.exitCode !== null) return resolve();
            const t = setTimeout(() => {
              if (b.child.pid) process.kill(-b.child.pid, 'SIGKILL');
              resolve();
            }, 20_000);
            b.child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    rmSync(copy, { recursive: true, force: true });
  });

  it('has commands, with their documented output', () => {
    const steps = quickTourSteps(readFileSync(path.join(REPO, 'README.md'), 'utf8'));
    assert.ok(steps.length >= 8, `${steps.length} commands`);
    assert.equal(steps[0]?.command, 'npm start');
    assert.ok(steps[0]?.background);
    assert.ok(steps.filter((s) => s.expect.length > 0).length >= 8);
  });

  it('runs every command of the tour and shows what README says', async () => {
    const steps = quickTourSteps(readFileSync(path.join(copy, 'README.md'), 'utf8'));
    for (const step of steps) {
      if (step.background) {
        let output = '';
        const child = spawn('bash', ['-c', step.command], {
          cwd: copy,
          env,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout?.on('data', (d) => {
          output += d;
        });
        child.stderr?.on('data', (d) => {
          output += d;
        });
        background.push({ child, output: () => output });
        await waitFor(
          `"${step.command}" to print ${JSON.stringify(step.expect)}`,
          () => {
            assert.equal(child.exitCode, null, `"${step.command}" exited:\n${output}`);
            return missingLines(output, step.expect).length === 0;
          },
          120_000,
          100,
        );
        continue;
      }
      const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('bash', ['-c', step.command], { cwd: copy, env });
        let output = '';
        child.stdout.on('data', (d) => {
          output += d;
        });
        child.stderr.on('data', (d) => {
          output += d;
        });
        child.on('exit', (code) => resolve({ code, output }));
      });
      assert.equal(result.code, 0, `"${step.command}" exited ${result.code}:\n${result.output}`);
      assert.deepEqual(
        missingLines(result.output, step.expect),
        [],
        `"${step.command}" printed:\n${result.output}`,
      );
    }
  });
});
