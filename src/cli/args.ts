/** Command-line argument helpers shared by the subcommands. */

/** A mistake in how the command was called: reported in one line with exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Which flag asked for which port, so that "address in use" can name the flag to change
 * (EADDRINUSE carries only the port). CLI process state: one command runs per process.
 */
const PORT_FLAGS = new Map<number, string[]>();

/** `--drain MS`: how long a stopping proxy lets in-flight work finish (default 5 s). */
export function parseDrainMs(value: string | undefined): number {
  const drainMs = value === undefined ? 5000 : Number(value);
  if (!Number.isInteger(drainMs) || drainMs < 0)
    throw new UsageError('--drain must be a whole number of ms');
  return drainMs;
}

export function parsePort(flag: string, value: string | undefined, fallback: number): number {
  let n = fallback;
  if (value !== undefined) {
    n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      throw new UsageError(`${flag} must be a port number (0-65535), got "${value}"`);
    }
  }
  if (n !== 0) {
    const flags = PORT_FLAGS.get(n) ?? [];
    if (!flags.includes(flag)) flags.push(flag);
    PORT_FLAGS.set(n, flags);
  }
  return n;
}

/** The flags that asked for a port (empty when none did, e.g. a port from a config file). */
export function flagsOfPort(port: number): readonly string[] {
  return PORT_FLAGS.get(port) ?? [];
}

/** Optimal string alignment distance (Levenshtein with transpositions), for did-you-mean. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2][j - 2] + 1);
      }
      d[i][j] = v;
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to what was typed, when it is close enough to be a typo (at most a
 * third of its letters wrong) or what was typed is a prefix of exactly one candidate.
 */
export function didYouMean(typed: string, candidates: Iterable<string>): string | undefined {
  const all = [...candidates];
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of all) {
    const distance = editDistance(typed, c);
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(typed.length / 3))) {
    return best;
  }
  const prefixed = all.filter((c) => typed.length >= 2 && c.startsWith(typed));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** The long flags a command's help text lists (`--name`), for did-you-mean on flags. */
export function flagsInHelp(help: string): string[] {
  return [...new Set(help.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? [])];
}

/**
 * node:util parseArgs errors, in Ferry's words: the flag that is wrong and, for an unknown
 * one, the flag that was probably meant. (Node's own text suggests `-- "--flag"`, which is
 * never what a user of these commands wants.) Undefined for other errors.
 */
export function parseArgsUsageError(err: unknown, help: string): UsageError | undefined {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(e.message ?? '')?.[1] ?? '';
    const name = flag.split('=')[0];
    const guess = name.startsWith('--') ? didYouMean(name, flagsInHelp(help)) : undefined;
    return new UsageError(
      `unknown option ${name || flag}${guess ? ` (did you mean ${guess}?)` : ''}`,
    );
  }
  if (e?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m =
      /^Option '(?:-\w, )?(--[\w-]+)[^']*' (argument missing|does not take an argument)/.exec(
        e.message ?? '',
      );
    if (m) {
      return new UsageError(
        m[2] === 'argument missing' ? `${m[1]} needs a value` : `${m[1]} takes no value`,
      );
    }
    return new UsageError(e.message ?? 'invalid option value');
  }
  if (e?.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']+)'/.exec(e.message ?? '')?.[1];
    return new UsageError(`unexpected argument${arg ? ` "${arg}"` : ''}`);
  }
  return undefined;
}
