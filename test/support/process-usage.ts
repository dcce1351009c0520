/**
 * What a live process holds, read from Linux's /proc: its open file descriptors (sockets
 * included) and its resident memory. Tests compare them before and after a run to find leaks.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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

const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

/**
 * What the descriptors of `pid` are, for a leak's failure message: its TCP sockets counted
 * by "local port → remote port state" (IPv4 and IPv6, from /proc/net/tcp*, matched by
 * inode), sockets in no TCP table (closed by the peer, never by the process), and other
 * kinds (pipe, anon_inode:[eventfd], files) by name.
 */
export function describeFds(pid: number): Record<string, number> {
  const inodes = new Map<string, number>();
  const out: Record<string, number> = {};
  const add = (key: string) => {
    out[key] = (out[key] ?? 0) + 1;
  };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.set(m[1], (inodes.get(m[1]) ?? 0) + 1);
    else add(target.startsWith('/') ? 'file' : target.replace(/\[\d+\]$/, ''));
  }
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      inodes.delete(f[9]);
      const port = (addr: string) => Number.parseInt(addr.slice(addr.lastIndexOf(':') + 1), 16);
      add(`tcp ${port(f[1])} → ${port(f[2])} ${TCP_STATES[f[3]] ?? f[3]}`);
    }
  }
  for (const n of inodes.values()) for (let i = 0; i < n; i++) add('socket in no TCP table');
  return out;
}

/** How many of `pid`'s TCP sockets are on local port `port` in `state` (e.g. CLOSE_WAIT). */
export function tcpSocketsIn(pid: number, port: number, state: string): number {
  let n = 0;
  for (const [key, count] of Object.entries(describeFds(pid)))
    if (key.startsWith(`tcp ${port} → `) && key.endsWith(` ${state}`)) n += count;
  return n;
}
