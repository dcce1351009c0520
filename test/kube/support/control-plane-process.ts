/**
 * `ferry control-plane` as a real process pointed at a (replaying) API server through a
 * kubeconfig file, as an operator outside the cluster would run it. Resolves once the
 * process printed its start-up line, with the ports it printed.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReplayApiServer } from './replay-api-server.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');

export interface RunningControlPlane {
  readonly xdsPort: number;
  readonly httpPort: number;
  readonly securePort?: number;
  readonly webhookPort?: number;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Writes a kubeconfig for the server (its CA, the test token) and returns its path. */
export function writeKubeconfig(server: ReplayApiServer, dir: string, name = 'kubeconfig'): string {
  const file = path.join(dir, name);
  // JSON is YAML: the file is what `kubectl config view --raw -o json` prints.
  writeFileSync(file, server.kubeConfig().exportConfig());
  return file;
}

export interface StartFailure {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the command until it prints its start-up line (or exits: then rejects with the output). */
export function startControlPlaneProcess(args: readonly string[]): Promise<RunningControlPlane> {
  const child = spawn(process.execPath, [MAIN, 'control-plane', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the control plane did not start within 20 s:\n${stdout}${stderr}`));
    }, 20_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const line = /^ferry control plane: .*$/m.exec(stdout)?.[0];
      if (!line) return;
      clearTimeout(timer);
      const port = (re: RegExp) => {
        const m = re.exec(line);
        return m ? Number(m[1]) : undefined;
      };
      resolve({
        xdsPort: port(/xDS on [^,]*:(\d+)/) ?? 0,
        httpPort: port(/HTTP on http:\/\/[^/]*:(\d+)\//) ?? 0,
        securePort: port(/over TLS on [^ ]*:(\d+) /),
        webhookPort: port(/webhook on https:\/\/[^/]*:(\d+)\//),
        stdout: () => stdout,
        stderr: () => stderr,
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      const failure: StartFailure = { code, stdout, stderr };
      reject(Object.assign(new Error(`the control plane exited (${code}): ${stderr}`), failure));
    });
  });
}
