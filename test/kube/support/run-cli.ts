/**
 * Runs one of the Kubernetes CLI modules (src/cli/inject.ts, init.ts, cni.ts) as a real
 * process, the way `ferry <command>` does, with standard input, environment and an
 * optional command prefix (`ip netns exec NAME`).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly stdin?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Runs the process under this command, e.g. ['ip', 'netns', 'exec', 'ferry-test-1']. */
  readonly prefix?: readonly string[];
  readonly timeoutMs?: number;
}

/**
 * `module` is the file under dist/src/cli, `run` its exported function. Errors print as
 * main.ts prints them: `ferry: message`, exit 2 for usage errors and 1 otherwise.
 */
export function runCli(
  module: string,
  run: string,
  args: readonly string[],
  o: CliOptions = {},
): Promise<CliRun> {
  const script =
    `import(${JSON.stringify(path.join(CLI_DIR, module))}).then((m) => m[${JSON.stringify(run)}](process.argv.slice(1)))` +
    `.catch((e) => { process.stderr.write('ferry: ' + e.message + '\\n'); ` +
    `process.exit(e.name === 'UsageError' || String(e.code).startsWith('ERR_PARSE_ARGS') ? 2 : 1); });`;
  const argv = [
    ...(o.prefix ?? []),
    process.execPath,
    '--input-type=module',
    '-e',
    script,
    '--',
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: o.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(o.stdin ?? '');
  });
}
