/**
 * What a live process holds, read from Linux's /proc: its open file descriptors (sockets
 * included) and its resident memory. Tests compare them before and after a run to find leaks.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Number of open file descriptors of `pid`. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of `pid`, bytes (VmRSS of /proc/PID/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

export const MiB = 1024 * 1024;
