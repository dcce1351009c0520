/**
 * The state file: where a running control plane says it can be reached, so that
 * `ferry proxy-status`, `proxy-config`, `check`, `analyze` and `version` find it without
 * flags (the demo's ports are random). It lives in the user's runtime directory, never in
 * the repository: $FERRY_STATE_DIR, else $XDG_RUNTIME_DIR/ferry, else ~/.ferry.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ControlPlaneState {
  readonly pid: number;
  /** The HTTP port's URL: /healthz, /debug/*. */
  readonly http: string;
  /** The plaintext xDS address, host:port. */
  readonly xds: string;
  /** The secure xDS + identity address, when the CA is on. */
  readonly secure?: string;
  readonly config: string;
  readonly startedAt: string;
}

export function stateDir(env: NodeJS.ProcessEnv): string {
  if (env.FERRY_STATE_DIR) return env.FERRY_STATE_DIR;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'ferry');
  return path.join(env.HOME || os.homedir(), '.ferry');
}

export function stateFile(env: NodeJS.ProcessEnv): string {
  return path.join(stateDir(env), 'control-plane.json');
}

/**
 * Writes the state file (atomically: a rename); returns a function that removes it if it is
 * still this process's. Failing to write (a read-only home in a pod) is not an error of the
 * control plane: it returns undefined and the CLI needs a flag there.
 */
export function writeControlPlaneState(
  state: ControlPlaneState,
  env: NodeJS.ProcessEnv,
): (() => void) | undefined {
  const file = stateFile(env);
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${state.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    return undefined;
  }
  return () => {
    if (readControlPlaneState(env, () => true)?.pid === state.pid) rmSync(file, { force: true });
  };
}

/** Whether a process with this pid runs (EPERM: it runs, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state a running control plane wrote; undefined when none, unreadable or stale. */
export function readControlPlaneState(
  env: NodeJS.ProcessEnv,
  alive: (pid: number) => boolean = processAlive,
): ControlPlaneState | undefined {
  let state: Partial<ControlPlaneState>;
  try {
    state = JSON.parse(readFileSync(stateFile(env), 'utf8')) as Partial<ControlPlaneState>;
  } catch {
    return undefined;
  }
  if (typeof state.pid !== 'number' || typeof state.http !== 'string') return undefined;
  return alive(state.pid) ? (state as ControlPlaneState) : undefined;
}
