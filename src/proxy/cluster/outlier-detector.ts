/**
 * Outlier detection of one cluster, with Envoy's semantics and defaults: a host that
 * answers consecutive_5xx (5) 5xx responses in a row, or consecutive_gateway_failure (5)
 * gateway errors (502, 503, 504) in a row, is ejected: it takes no traffic (outside panic)
 * for base_ejection_time (30 s) times the number of times it has been ejected, capped at
 * max_ejection_time (300 s). Locally originated failures (connect failure, reset, timeout)
 * count as gateway errors, as Envoy does without split_external_local_origin_errors; with it,
 * they count apart, consecutive_local_origin_failure (5) of them in a row ejecting, and any
 * response (the connection worked) starting that count over. At most
 * max_ejection_percent (10%) of the hosts are ejected at once, but always at least one.
 * Every interval (10 s) ejected hosts whose time is up come back.
 *
 * Every interval, too, the statistical detectors look at each host's requests in the interval
 * that ended (from the counters the data path keeps on the host: requests sent, and failed
 * with a 5xx, a connect failure or a reset): success rate ejects the hosts whose success rate
 * is under mean - success_rate_stdev_factor/1000 (1.9) standard deviations, among the hosts
 * with at least success_rate_request_volume (100) requests, when there are at least
 * success_rate_minimum_hosts (5) of them; failure percentage ejects the hosts failing at least
 * failure_percentage_threshold (85%) of their requests, with the same kind of floors (50
 * requests, 5 hosts). Envoy enforces success rate by default and failure percentage not; a
 * control plane sets enforcing_* to choose (Istio's and Ferry's turn success rate off unless
 * asked for).
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier
 */
import { durationMs, type envoy } from '../../xds/index.js';
import type { Host } from '../lb/index.js';

export interface OutlierConfig {
  readonly consecutive5xx: number;
  readonly enforcing5xx: number;
  readonly consecutiveGateway: number;
  readonly enforcingGateway: number;
  /** split_external_local_origin_errors: local failures counted apart from responses. */
  readonly splitLocalOrigin: boolean;
  readonly consecutiveLocalOrigin: number;
  readonly enforcingLocalOrigin: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  /** Success-rate ejection; enforcement 0 turns it off. */
  readonly successRate: {
    readonly enforcing: number;
    readonly minimumHosts: number;
    readonly requestVolume: number;
    /** The standard deviation factor times 1000, as Envoy has it (1900: 1.9). */
    readonly stdevFactor: number;
  };
  /** Failure-percentage ejection; enforcement 0 (Envoy's default) turns it off. */
  readonly failurePercentage: {
    readonly enforcing: number;
    readonly minimumHosts: number;
    readonly requestVolume: number;
    readonly threshold: number;
  };
}

/** The Cluster fields read. */
export type OutlierDetectionResource = Pick<envoy.Cluster, 'outlier_detection'>;

const ms = (d: envoy.Duration | undefined, fallback: number) => durationMs(d) ?? fallback;

/** The cluster's outlier detection, or undefined when it has none (Envoy: off). */
export function parseOutlierDetection(r: OutlierDetectionResource): OutlierConfig | undefined {
  const od = r.outlier_detection;
  if (!od) return undefined;
  return {
    consecutive5xx: od.consecutive_5xx?.value ?? 5,
    enforcing5xx: od.enforcing_consecutive_5xx?.value ?? 100,
    consecutiveGateway: od.consecutive_gateway_failure?.value ?? 5,
    enforcingGateway: od.enforcing_consecutive_gateway_failure?.value ?? 0,
    splitLocalOrigin: od.split_external_local_origin_errors === true,
    consecutiveLocalOrigin: od.consecutive_local_origin_failure?.value ?? 5,
    enforcingLocalOrigin: od.enforcing_consecutive_local_origin_failure?.value ?? 100,
    intervalMs: ms(od.interval, 10_000),
    baseEjectionMs: ms(od.base_ejection_time, 30_000),
    maxEjectionMs: ms(od.max_ejection_time, 300_000),
    maxEjectionPercent: od.max_ejection_percent?.value ?? 10,
    successRate: {
      enforcing: od.enforcing_success_rate?.value ?? 100,
      minimumHosts: od.success_rate_minimum_hosts?.value ?? 5,
      requestVolume: od.success_rate_request_volume?.value ?? 100,
      stdevFactor: od.success_rate_stdev_factor?.value ?? 1900,
    },
    failurePercentage: {
      enforcing: od.enforcing_failure_percentage?.value ?? 0,
      minimumHosts: od.failure_percentage_minimum_hosts?.value ?? 5,
      requestVolume: od.failure_percentage_request_volume?.value ?? 50,
      threshold: od.failure_percentage_threshold?.value ?? 85,
    },
  };
}

/** Whether the statistical detectors run, so the interval timer must always tick. */
function sweeps(c: OutlierConfig): boolean {
  return c.successRate.enforcing > 0 || c.failurePercentage.enforcing > 0;
}

/** What happened to a request to a host, as the detector counts it. */
export const Outcome = { Success: 0, Error5xx: 1, Gateway: 2, Local: 3 } as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** How a response status counts for outlier detection: 502-504 are gateway errors. */
export function statusOutcome(status: number): Outcome {
  if (status < 500) return Outcome.Success;
  return status >= 502 && status <= 504 ? Outcome.Gateway : Outcome.Error5xx;
}

class HostRecord {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  consecutiveLocal = 0;
  ejections = 0;
  ejectedUntil = 0;
  /** The host's request counters at the last interval, for the statistical detectors. */
  lastTotal = 0;
  lastErrors = 0;
}

/** A host's requests in the interval that ended, and the share that succeeded (percent). */
interface IntervalStats {
  readonly host: Host;
  readonly record: HostRecord;
  readonly volume: number;
  readonly successRate: number;
}

export interface OutlierEvents {
  /** A host was ejected or came back; the cluster rebuilds its balancer. */
  changed(): void;
  ejected?(host: Host, reason: string, ms: number): void;
  returned?(host: Host): void;
}

export class OutlierDetector {
  private readonly records = new Map<Host, HostRecord>();
  private timer: NodeJS.Timeout | undefined;
  /** Ejections since start. */
  ejectionsTotal = 0;

  constructor(
    public config: OutlierConfig,
    private hosts: () => readonly Host[],
    private events: OutlierEvents,
    private readonly now: () => number = performance.now.bind(performance),
    private readonly random: () => number = Math.random,
  ) {
    if (sweeps(config)) this.schedule();
  }

  /** Records one request's outcome against its host. */
  record(host: Host, outcome: Outcome): void {
    let r = this.records.get(host);
    if (outcome === Outcome.Success) {
      if (r) {
        r.consecutive5xx = 0;
        r.consecutiveGateway = 0;
        r.consecutiveLocal = 0;
      }
      return;
    }
    if (!r) {
      r = new HostRecord();
      this.records.set(host, r);
    }
    const c = this.config;
    if (c.splitLocalOrigin) {
      if (outcome === Outcome.Local) {
        r.consecutiveLocal++;
        if (
          !host.ejected &&
          r.consecutiveLocal >= c.consecutiveLocalOrigin &&
          this.enforced(c.enforcingLocalOrigin)
        ) {
          this.eject(host, r, 'consecutive local origin failures');
        }
        return;
      }
      // A response came back: the connection worked.
      r.consecutiveLocal = 0;
    }
    r.consecutive5xx++;
    if (outcome !== Outcome.Error5xx) r.consecutiveGateway++;
    if (host.ejected) return;
    if (r.consecutiveGateway >= c.consecutiveGateway && this.enforced(c.enforcingGateway)) {
      this.eject(host, r, 'consecutive gateway errors');
    } else if (r.consecutive5xx >= c.consecutive5xx && this.enforced(c.enforcing5xx)) {
      this.eject(host, r, 'consecutive 5xx');
    }
  }

  private enforced(percent: number): boolean {
    return percent >= 100 || (percent > 0 && this.random() * 100 < percent);
  }

  private eject(host: Host, r: HostRecord, reason: string): void {
    const hosts = this.hosts();
    let ejected = 0;
    for (const h of hosts) if (h.ejected) ejected++;
    const allowed = Math.max(1, Math.floor((hosts.length * this.config.maxEjectionPercent) / 100));
    if (ejected >= allowed) return;
    r.ejections++;
    const duration = Math.min(this.config.baseEjectionMs * r.ejections, this.config.maxEjectionMs);
    r.ejectedUntil = this.now() + duration;
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    r.consecutiveLocal = 0;
    host.ejected = true;
    this.ejectionsTotal++;
    this.events.ejected?.(host, reason, duration);
    this.events.changed();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(tick, this.config.intervalMs, this);
    this.timer.unref();
  }

  /**
   * The interval timer: ejected hosts whose time is up come back, then the statistical
   * detectors judge the interval that ended.
   */
  check(): void {
    const now = this.now();
    let changed = false;
    let stillEjected = 0;
    for (const [host, r] of this.records) {
      if (!host.ejected) continue;
      if (now >= r.ejectedUntil) {
        host.ejected = false;
        changed = true;
        this.events.returned?.(host);
      } else stillEjected++;
    }
    if (changed) this.events.changed();
    if (sweeps(this.config)) {
      this.sweep();
      return;
    }
    if (stillEjected === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Success-rate and failure-percentage ejection over the interval that ended. */
  private sweep(): void {
    const stats: IntervalStats[] = [];
    for (const host of this.hosts()) {
      let r = this.records.get(host);
      if (!r) {
        r = new HostRecord();
        this.records.set(host, r);
      }
      const volume = host.rqTotal - r.lastTotal;
      const errors = host.rqError - r.lastErrors;
      r.lastTotal = host.rqTotal;
      r.lastErrors = host.rqError;
      if (host.ejected || volume <= 0) continue;
      const successRate = (100 * Math.max(0, volume - errors)) / volume;
      stats.push({ host, record: r, volume, successRate });
    }
    const sr = this.config.successRate;
    if (sr.enforcing > 0) {
      const eligible = stats.filter((s) => s.volume >= sr.requestVolume);
      if (eligible.length >= sr.minimumHosts && eligible.length > 0) {
        const mean = eligible.reduce((sum, s) => sum + s.successRate, 0) / eligible.length;
        const variance =
          eligible.reduce((sum, s) => sum + (s.successRate - mean) ** 2, 0) / eligible.length;
        const threshold = mean - (sr.stdevFactor / 1000) * Math.sqrt(variance);
        for (const s of eligible) {
          if (s.successRate < threshold && !s.host.ejected && this.enforced(sr.enforcing)) {
            this.eject(
              s.host,
              s.record,
              `success rate ${s.successRate.toFixed(1)}% under ${threshold.toFixed(1)}%`,
            );
          }
        }
      }
    }
    const fp = this.config.failurePercentage;
    if (fp.enforcing > 0) {
      const eligible = stats.filter((s) => s.volume >= fp.requestVolume);
      if (eligible.length >= fp.minimumHosts) {
        for (const s of eligible) {
          const failed = 100 - s.successRate;
          if (failed >= fp.threshold && !s.host.ejected && this.enforced(fp.enforcing)) {
            this.eject(s.host, s.record, `failure percentage ${failed.toFixed(1)}%`);
          }
        }
      }
    }
  }

  /** Forgets hosts that left the cluster (and starts the interval timer a new config needs). */
  retain(hosts: readonly Host[]): void {
    const keep = new Set(hosts);
    for (const host of this.records.keys()) if (!keep.has(host)) this.records.delete(host);
    if (sweeps(this.config)) this.schedule();
  }

  /** The cluster's outlier detection was turned off: every host comes back. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    let changed = false;
    for (const host of this.records.keys()) {
      if (host.ejected) {
        host.ejected = false;
        changed = true;
      }
    }
    this.records.clear();
    if (changed) this.events.changed();
  }

  /** Redirects events and the host list to a newer build of the cluster. */
  rebind(hosts: () => readonly Host[], events: OutlierEvents): void {
    this.hosts = hosts;
    this.events = events;
  }
}

function tick(d: OutlierDetector): void {
  d.check();
}
