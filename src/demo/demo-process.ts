/**
 * One child process of the demo: its output goes to `print`, each line prefixed with its
 * name; start-up lines that a caller waits for (ports) are taken, not printed.
 *
 * Children run detached, in their own process group: Ctrl-C in the terminal reaches the
 * demo alone, which stops the traffic first and then its children in order (sidecars
 * drain before their apps go).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SIDECAR_PROCESS_ENV } from '../proxy/index.js';
import { humanLines } from './log-line.js';

export interface DemoProcessOptions {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly print: (line: string) => void;
  /** Opens an IPC channel (node children): `send` works, and the child sees the demo go. */
  readonly ipc?: boolean;
}

interface Waiter {
  readonly pattern: RegExp;
  readonly resolve: (m: RegExpExecArray) => void;
  readonly reject: (err: Error) => void;
}

export class DemoProcess {
  readonly label: string;
  readonly pid: number;
  /** Resolves with how it ended: "code 0", "SIGTERM", "failed to start: ...". */
  readonly exited: Promise<string>;
  private exit: string | undefined;
  private waiters: Waiter[] = [];
  private readonly child: ChildProcess;

  constructor(options: DemoProcessOptions) {
    this.label = options.label;
    // Children log JSON; what is printed is for people (log-line.ts).
    const print = (line: string) => {
      for (const text of humanLines(line)) options.print(`[${options.label}] ${text}`);
    };
    this.child = spawn(options.command, [...options.args], {
      // Every demo process starts as a sidecar best does; what the user's environment
      // says wins.
      env: { ...SIDECAR_PROCESS_ENV, ...process.env },
      stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.pid = this.child.pid ?? 0;
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const waiter = this.waiters.find((w) => w.pattern.test(line));
      if (!waiter) return print(line);
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(waiter.pattern.exec(line)!);
    });
    createInterface({ input: this.child.stderr! }).on('line', print);
    this.exited = new Promise<string>((resolve) => {
      const done = (how: string) => {
        if (this.exit !== undefined) return;
        this.exit = how;
        for (const w of this.waiters) w.reject(new Error(`${this.label} ended (${how})`));
        this.waiters = [];
        resolve(how);
      };
      this.child.on('error', (err) => done(`failed to start: ${err.message}`));
      this.child.once('exit', (code, signal) => done(signal ?? `code ${code}`));
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The first stdout line from now on that matches; rejects if the process ends first. */
  waitFor(pattern: RegExp, timeoutMs: number, signal: AbortSignal): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      if (!this.running) {
        reject(new Error(`${this.label} ended (${this.exit})`));
        return;
      }
      const settle = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const waiter: Waiter = {
        pattern,
        resolve: (m) => {
          settle();
          resolve(m);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      };
      const onAbort = () => waiter.reject(new Error('stopped'));
      const timer = setTimeout(
        () => waiter.reject(new Error(`${this.label} did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      if (signal.aborted) onAbort();
    });
  }

  /** A message over the IPC channel; false when there is none any more. */
  send(message: object): boolean {
    if (!this.child.connected) return false;
    this.child.send(message);
    return true;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }
}
