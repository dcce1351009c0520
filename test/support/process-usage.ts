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
 * What the TCP sockets `pid` holds are, counted by "local port → remote port state"
 * (IPv4 loopback; from /proc/net/tcp, matched by inode), for a leak's failure message.
 */
export function tcpSockets(pid: number): Record<string, number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !inodes.has(f[9])) continue;
    const port = (addr: string) => Number.parseInt(addr.split(':')[1], 16);
    const key = `${port(f[1])} → ${port(f[2])} ${TCP_STATES[f[3]] ?? f[3]}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
