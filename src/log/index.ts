/** Logging: pino, created once by the CLI and passed down; never a global. */
import { type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level?: string;
  name?: string;
}

/**
 * The child loggers made from each root logger, so that a level set at run time (the
 * sidecar's POST /logging) reaches the components' children too: pino copies the level into
 * a child when it is made and does not follow the parent afterwards.
 */
const CHILDREN = new WeakMap<Logger, Set<WeakRef<Logger>>>();

export function createLogger(options: LoggerOptions = {}): Logger {
  const children = new Set<WeakRef<Logger>>();
  const log = pino({
    level: options.level ?? 'info',
    name: options.name ?? 'ferry',
    onChild: (child) => {
      children.add(new WeakRef(child));
    },
  });
  CHILDREN.set(log, children);
  return log;
}

/** Sets the level of a logger and of every child made from it (those still alive). */
export function setLogLevel(log: Logger, level: string): void {
  log.level = level;
  const children = CHILDREN.get(log);
  if (!children) return;
  for (const ref of children) {
    const child = ref.deref();
    if (child) child.level = level;
    else children.delete(ref);
  }
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
