/**
 * Runs a program with some standard input and collects what it prints: the one way capture
 * reaches iptables, so tests and the CNI plugin can put a prefix in front (`nsenter
 * --net=PATH` runs the program inside a pod's network namespace).
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code; -1 when the program was killed by a signal. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  /** Rejects only when the program cannot be started (ENOENT carries `code`). */
  run(command: string, args: readonly string[], input?: string): Promise<CommandResult>;
}

/** Spawns real processes; `prefix` (e.g. `['nsenter', '--net=/run/netns/x']`) goes first. */
export function spawnRunner(prefix: readonly string[] = []): CommandRunner {
  return {
    run(command, args, input) {
      const argv = [...prefix, command, ...args];
      return new Promise((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
        });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
        // A program that exits before reading its input makes the write fail with EPIPE;
        // its exit code and stderr tell the story, so the write error is not the result.
        child.stdin.on('error', () => {});
        child.stdin.end(input ?? '');
      });
    },
  };
}
