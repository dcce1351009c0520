/**
 * `ferry ...` as a real process for CLI tests: its exit code and output, resolved when it
 * exits or, with untilStdout, as soon as its stdout matches (then the test kills it).
 */
import { spawn } from 'node:child_process';
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

/** Runs the CLI with args; SIGKILLs it after killAfterMs so a hung start cannot hang the suite. */
export function runCli(
  args: string[],
  untilStdout?: RegExp,
  env: NodeJS.ProcessEnv = process.env,
  killAfterMs = 10_000,
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    const out = { code: null as number | null, stdout: '', stderr: '' };
    const kill = () => child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.stdout.on('data', (d) => {
      out.stdout += d;
      if (untilStdout?.test(out.stdout)) resolve({ ...out, kill });
    });
    child.stderr.on('data', (d) => {
      out.stderr += d;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      out.code = code;
      resolve({ ...out, kill });
    });
  });
}
