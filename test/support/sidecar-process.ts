/**
 * A sidecar as a real process, started through the CLI (`ferry proxy`): ports are read from
 * the line it prints, readiness from its ready port. Tests signal it and await its exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EPHEMERAL_PORTS } from './ephemeral-ports.js';
import { send } from './http-client.js';
import { waitFor } from './wait-for.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly ports: {
    outbound: number;
    inbound: number;
    admin: number;
    metrics: number;
    ready: number;
  };
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** What it wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** What it wrote to stdout so far (its ports line, TCP forwards, JSON log lines). */
  stdout(): string;
  /** SIGKILL unless it has exited already. */
  kill(): Promise<void>;
}

const PORTS_LINE = /outbound (\d+), inbound (\d+), admin (\d+), metrics (\d+), ready (\d+)/;

/**
 * Starts `ferry proxy` with every port 0 and waits until /healthz/ready answers 200 (for at
 * most `readyWithinMs`: tests starting many processes at once on a loaded machine give more).
 */
export async function startSidecarProcess(
  args: readonly string[],
  readyWithinMs = 10_000,
): Promise<SidecarProcess> {
  const child = spawn(
    process.execPath,
    [MAIN, 'proxy', ...EPHEMERAL_PORTS, '--log-level', 'warn', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (c) => {
      code = c;
      resolve(c);
    }),
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const kill = async () => {
    if (code === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    await waitFor(
      'the proxy to print its ports',
      () => PORTS_LINE.test(out) || code !== undefined,
      Math.max(30_000, readyWithinMs),
    );
    const m = PORTS_LINE.exec(out);
    if (!m) throw new Error(`proxy exited with ${code}: ${err}`);
    const [outbound, inbound, admin, metrics, ready] = m.slice(1).map(Number);
    await waitFor(
      'the proxy to be ready',
      () =>
        send(ready, { path: '/healthz/ready' }).then(
          (r) => r.status === 200,
          () => false,
        ),
      readyWithinMs,
      25,
    );
    return {
      child,
      ports: { outbound, inbound, admin, metrics, ready },
      exited,
      stderr: () => err,
      stdout: () => out,
      kill,
    };
  } catch (e) {
    await kill();
    throw e;
  }
}
