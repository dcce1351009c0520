/**
 * How many workers a proxy runs by default: a gateway uses every core it is given (the
 * container's CPU limit, from cgroup v2's cpu.max, else the cores node can use); a sidecar
 * uses one, beside its app.
 * https://docs.kernel.org/admin-guide/cgroup-v2.html#cpu-interface-files
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The CPU limit in cores of a cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>"). */
export function cpuLimitOf(cpuMax: string): number | undefined {
  const [quota, period] = cpuMax.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  const q = Number(quota);
  const p = Number(period ?? 100_000);
  if (!(q > 0 && p > 0)) return undefined;
  // A limit of 1.5 cores runs two workers: the second one still gets half a core.
  return Math.max(1, Math.ceil(q / p));
}

export function defaultConcurrency(
  role: 'gateway' | 'sidecar',
  cpuMaxFile = '/sys/fs/cgroup/cpu.max',
): number {
  if (role === 'sidecar') return 1;
  let limit: number | undefined;
  try {
    limit = cpuLimitOf(readFileSync(cpuMaxFile, 'utf8'));
  } catch {
    limit = undefined; // no cgroup v2 (not in a container, or cgroup v1)
  }
  return Math.min(limit ?? os.availableParallelism(), os.availableParallelism());
}
