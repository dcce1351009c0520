/**
 * `ferry ...` as a real process for CLI tests: its exit code and output, resolved when it
 * exits or, with untilStdout, as soon as its stdout matches (then the test kills it).
 *
 * How long a start may take is the test's own timeout, not a deadline of its own: a fixed
 * 10 s kill here, shorter than mocha's, cut off control planes that were starting correctly
 * on a loaded machine (one needs about 2 s of CPU to load its modules and make its CA on
 * Node 20; at a load average of 20-70 on 2 cores that took 11.5 s), and the test then
 * failed on what it never got to see. A process still running when its test ends, passed,
 * failed or timed out, is killed then.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** SIGTERM. */
  kill(): void;
}

/** Processes started by the test running now. */
const running = new Set<ChildProcess>();

// A root hook (this module is first imported while mocha loads the test files, at the root
// suite): whatever a test started and left running is killed once the test is over, so a
// hung start cannot outlive its test.
if (typeof afterEach === 'function') {
  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  });
}

/** Runs the CLI with args; the process is SIGKILLed when the test ends if still running. */
export function runCli(
  args: string[],
  untilStdout?: RegExp,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    running.add(child);
    const out = { code: null as number | null, stdout: '', stderr: '' };
    const kill = () => child.kill('SIGTERM');
    child.stdout.on('data', (d) => {
      out.stdout += d;
      if (untilStdout?.test(out.stdout)) resolve({ ...out, kill });
    });
    child.stderr.on('data', (d) => {
      out.stderr += d;
    });
    child.on('exit', (code) => {
      running.delete(child);
      out.code = code;
      resolve({ ...out, kill });
    });
  });
}
