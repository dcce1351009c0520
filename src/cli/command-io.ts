/** Where a long-running query command (tap, top, stat) writes and what stops it. */
import { UsageError } from './args.js';
import type { Output } from './proxy-status.js';

export interface CommandIo {
  readonly out: Output;
  readonly err: Output;
  readonly env: NodeJS.ProcessEnv;
  /** Stops the command (tests); else Ctrl-C does. */
  readonly signal?: AbortSignal;
  /** Whether `out` is a terminal (a refreshing display clears it between frames). */
  readonly tty?: boolean;
}

export const PROCESS_IO: CommandIo = {
  out: process.stdout,
  err: process.stderr,
  env: process.env,
  tty: process.stdout.isTTY === true,
};

export function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`${flag} must be a whole number above 0, got "${v}"`);
  }
  return n;
}

/** A duration flag (`500ms`, `2s`, `1m`; a bare number is seconds), in ms. */
export function durationFlag(flag: string, v: string | undefined, fallbackMs: number): number {
  if (v === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000) : Number.NaN;
  if (!(ms >= 100 && ms <= 3_600_000)) {
    throw new UsageError(
      `${flag} must be a duration from 100ms to 1h like 2s or 500ms, got "${v}"`,
    );
  }
  return ms;
}
