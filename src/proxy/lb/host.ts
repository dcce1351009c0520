/**
 * One upstream endpoint of a cluster. Host objects are long-lived: HostSet keeps the same object
 * for an address:port across EDS updates, so the data path's counters and outlier detection's
 * `ejected` mark survive config changes.
 */

/** envoy.config.core.v3.HealthStatus. */
export type HostHealth = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export const HOST_HEALTH_VALUES: readonly HostHealth[] = [
  'UNKNOWN',
  'HEALTHY',
  'UNHEALTHY',
  'DRAINING',
  'TIMEOUT',
  'DEGRADED',
];

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });

/** Envoy's address string: `10.0.0.1:8080`, `[fd00::1]:8080`. Ring hash and Maglev hash it. */
export function hostKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export interface HostInit {
  readonly weight?: number;
  readonly health?: HostHealth;
  readonly locality?: Locality;
  readonly priority?: number;
  readonly hostname?: string;
}

export interface HostSnapshot {
  readonly key: string;
  readonly hostname: string;
  readonly weight: number;
  readonly health: HostHealth;
  readonly healthy: boolean;
  readonly ejected: boolean;
  readonly failedHealthCheck: boolean;
  readonly locality: Locality;
  readonly priority: number;
  readonly active: number;
  readonly rqTotal: number;
  readonly rqError: number;
}

export class Host {
  /** `address:port` (IPv6 in brackets); identity across updates. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** `Endpoint.hostname`, '' when none. */
  hostname: string;
  /** `LbEndpoint.load_balancing_weight`, >= 1 (default 1). */
  weight: number;
  /** From EDS `health_status`. */
  health: HostHealth;
  locality: Locality;
  /** `LocalityLbEndpoints.priority`, 0 is the highest. */
  priority: number;
  /** Requests in flight; the data path increments on dispatch and decrements on completion. */
  active: number;
  /** Requests sent; maintained by the data path, shown by the admin page. */
  rqTotal: number;
  /** Requests that failed (connect error, reset, 5xx); maintained by the data path. */
  rqError: number;
  /** Set by outlier detection; an ejected host only takes traffic in panic mode. */
  ejected: boolean;
  /** The LbEndpoint's metadata as EDS sent it (read at config time, e.g. for mTLS). */
  metadata: object | undefined;
  /** Set by active health checking: the host failed its checks. */
  failedHealthCheck: boolean;

  constructor(address: string, port: number, init: HostInit = {}) {
    this.key = hostKey(address, port);
    this.address = address;
    this.port = port;
    this.hostname = init.hostname ?? '';
    this.weight = init.weight ?? 1;
    this.health = init.health ?? 'UNKNOWN';
    this.locality = init.locality ?? NO_LOCALITY;
    this.priority = init.priority ?? 0;
    this.active = 0;
    this.rqTotal = 0;
    this.rqError = 0;
    this.ejected = false;
    this.metadata = undefined;
    this.failedHealthCheck = false;
  }

  /**
   * Whether the host may take traffic outside panic mode: HEALTHY or UNKNOWN (Envoy routes to
   * endpoints whose health EDS does not know) and not ejected. DEGRADED hosts count as unhealthy
   * here: Envoy's separate degraded load is not implemented.
   */
  get healthy(): boolean {
    return (
      !this.ejected &&
      !this.failedHealthCheck &&
      (this.health === 'HEALTHY' || this.health === 'UNKNOWN')
    );
  }

  /** A plain snapshot, for the admin page (`JSON.stringify(hostSet.hosts)`). */
  toJSON(): HostSnapshot {
    return {
      key: this.key,
      hostname: this.hostname,
      weight: this.weight,
      health: this.health,
      healthy: this.healthy,
      ejected: this.ejected,
      failedHealthCheck: this.failedHealthCheck,
      locality: this.locality,
      priority: this.priority,
      active: this.active,
      rqTotal: this.rqTotal,
      rqError: this.rqError,
    };
  }
}

/** Whether every host has the same weight (then policies take their unweighted fast path). */
export function sameWeights(hosts: readonly Host[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i].weight !== hosts[0].weight) return false;
  return true;
}
