/**
 * How much traffic each priority level takes, and which levels are in panic — Envoy's integer
 * arithmetic, as a pure function of host counts.
 *
 * - health(P) = min(100, ⌊factor × healthy / hosts⌋), factor in percent (140 = 1.4).
 * - normalized total health = min(100, Σ health). Loads are health × 100 / normalized total, in
 *   order, each capped by what is left of 100; rounding leftovers go to the first level with
 *   health. So P=0 at 50% healthy takes 70% and P=1 the rest.
 * - Panic: none while normalized total health is 100. Below that, a level whose healthy share
 *   is under the panic threshold balances over all its hosts, healthy or not. When every level
 *   is in panic ("total panic"), load follows host counts instead of health.
 * - With threshold 0 and no healthy host anywhere, P=0 takes all the load and nothing is in
 *   panic, so picks find no host (503 "no healthy upstream").
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/priority
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/panic_threshold
 */

export interface PriorityCounts {
  /** Hosts that may take traffic outside panic. */
  readonly healthy: number;
  readonly total: number;
}

export interface PriorityLoad {
  /** Integer percents per level, summing to 100. */
  readonly load: readonly number[];
  /** Per level: balance over all hosts instead of the healthy ones. */
  readonly panic: readonly boolean[];
  /** Per level, 0..100. */
  readonly health: readonly number[];
  /** 0..100. */
  readonly normalizedTotalHealth: number;
}

export const DEFAULT_PANIC_THRESHOLD = 50;

/** Adds `amount` to the first index where `eligible` holds (nothing if none does). */
function addToFirst(load: number[], eligible: (i: number) => boolean, amount: number): void {
  for (let i = 0; i < load.length; i++) {
    if (eligible(i)) {
      load[i] += amount;
      return;
    }
  }
}

/**
 * @param levels per priority, at least one
 * @param overprovisioningFactor percent, e.g. 140
 * @param panicThreshold percent, 0..100 (0 disables panic)
 */
export function computePriorityLoad(
  levels: readonly PriorityCounts[],
  overprovisioningFactor: number,
  panicThreshold: number,
): PriorityLoad {
  const n = Math.max(1, levels.length);
  const health: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = levels[i] ?? { healthy: 0, total: 0 };
    health.push(
      c.total > 0 ? Math.min(100, Math.floor((overprovisioningFactor * c.healthy) / c.total)) : 0,
    );
  }
  const normalized = Math.min(
    100,
    health.reduce((a, b) => a + b, 0),
  );
  const load = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);

  if (normalized > 0) {
    let remaining = 100;
    for (let i = 0; i < n; i++) {
      load[i] = Math.min(remaining, Math.floor((health[i] * 100) / normalized));
      remaining -= load[i];
    }
    addToFirst(load, (i) => health[i] > 0, remaining);
  }

  if (panicThreshold <= 0) {
    if (normalized === 0) load[0] = 100;
    return { load, panic, health, normalizedTotalHealth: normalized };
  }

  let totalPanic = true;
  for (let i = 0; i < n; i++) {
    const c = levels[i] ?? { healthy: 0, total: 0 };
    const healthyPercent = c.total > 0 ? (100 * c.healthy) / c.total : 0;
    panic[i] = normalized < 100 && healthyPercent < panicThreshold;
    totalPanic &&= panic[i];
  }
  if (totalPanic) {
    // Every level is short of healthy hosts: spread by host count, regardless of health.
    const hosts = levels.reduce((a, c) => a + c.total, 0);
    load.fill(0);
    if (hosts === 0) {
      load[0] = 100;
    } else {
      let remaining = 100;
      for (let i = 0; i < n; i++) {
        load[i] = Math.floor((100 * (levels[i]?.total ?? 0)) / hosts);
        remaining -= load[i];
      }
      addToFirst(load, (i) => (levels[i]?.total ?? 0) > 0, remaining);
    }
  }
  return { load, panic, health, normalizedTotalHealth: normalized };
}
