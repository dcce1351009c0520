/**
 * The endpoints of one cluster, built from its ClusterLoadAssignment and grouped by priority and
 * locality. `update` validates the whole assignment first and changes nothing when it has an
 * error (the caller NACKs and keeps serving from the last good set). Host objects are reused by
 * key, so `active`, `rqTotal`, `rqError` and `ejected` persist across updates; a host that leaves
 * the assignment is dropped, and comes back as a new object.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/endpoint/v3/endpoint.proto
 */
import type { envoy } from '../../xds/index.js';
import {
  HOST_HEALTH_VALUES,
  Host,
  type HostHealth,
  hostKey,
  type Locality,
  NO_LOCALITY,
} from './host.js';
import { type LbError, type LbResult, lbError } from './lb-error.js';
import { wrappedUint } from './wrapped-uint.js';

/** Envoy's default overprovisioning factor, as a percent (1.4). */
export const DEFAULT_OVERPROVISIONING_FACTOR = 140;
/** `LocalityLbEndpoints.priority` is at most 128. */
export const MAX_PRIORITY = 128;

/** The hosts of one `LocalityLbEndpoints` entry. */
export interface LocalityHosts {
  readonly locality: Locality;
  /** `LocalityLbEndpoints.load_balancing_weight`; 0 when unset. */
  readonly weight: number;
  readonly hosts: readonly Host[];
}

/** The hosts of one priority level. */
export interface PriorityHosts {
  readonly priority: number;
  readonly hosts: readonly Host[];
  readonly localities: readonly LocalityHosts[];
}

/** What a cluster balancer needs from a host set. */
export interface HostSetView {
  /** Dense by priority: `priorities[p].priority === p`; a level without endpoints is empty. */
  readonly priorities: readonly PriorityHosts[];
  /** Percent, e.g. 140. */
  readonly overprovisioningFactor: number;
}

export interface HostSetChange {
  readonly added: readonly Host[];
  readonly removed: readonly Host[];
}

/** An assignment validated when it arrived, ready for `HostSet.apply`. */
export interface ParsedAssignment {
  readonly localities: readonly ParsedLocality[];
  /** Percent, e.g. 140. */
  readonly overprovisioningFactor: number;
}

interface ParsedEndpoint {
  readonly address: string;
  readonly port: number;
  readonly hostname: string;
  readonly weight: number;
  readonly health: HostHealth;
  readonly metadata: object | undefined;
}

interface ParsedLocality {
  readonly locality: Locality;
  readonly weight: number;
  readonly priority: number;
  readonly endpoints: ParsedEndpoint[];
}

const EMPTY_PRIORITY: PriorityHosts = Object.freeze({
  priority: 0,
  hosts: Object.freeze([]) as readonly Host[],
  localities: Object.freeze([]) as readonly LocalityHosts[],
});

function healthOf(status: string | number | undefined): HostHealth | undefined {
  if (status === undefined || status === null) return 'UNKNOWN';
  if (typeof status === 'number') return HOST_HEALTH_VALUES[status];
  return HOST_HEALTH_VALUES.find((h) => h === status);
}

function isPositiveInt(n: number | undefined): boolean {
  return n === undefined || n >= 1;
}

export class HostSet {
  readonly clusterName: string;
  private byKey = new Map<string, Host>();
  private _hosts: readonly Host[] = Object.freeze([]);
  private _priorities: readonly PriorityHosts[] = Object.freeze([EMPTY_PRIORITY]);
  private _overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR;
  private _version = 0;

  constructor(clusterName = '') {
    this.clusterName = clusterName;
  }

  /** Every host, in assignment order (for the admin page and the data path's bookkeeping). */
  get hosts(): readonly Host[] {
    return this._hosts;
  }

  get priorities(): readonly PriorityHosts[] {
    return this._priorities;
  }

  get overprovisioningFactor(): number {
    return this._overprovisioningFactor;
  }

  /** Counts successful updates; a balancer built at one version is stale after the next. */
  get version(): number {
    return this._version;
  }

  get(key: string): Host | undefined {
    return this.byKey.get(key);
  }

  /**
   * Applies an assignment. On success reports the hosts added and removed, and warnings (a
   * repeated address:port keeps its first entry; an unknown health status counts as UNKNOWN).
   */
  update(cla: envoy.ClusterLoadAssignment): LbResult<HostSetChange> {
    const parsed = parseAssignment(cla, this.clusterName);
    if (!parsed.ok) return parsed;
    const { value, warnings } = this.apply(parsed.value);
    return { ok: true, value, warnings: [...parsed.warnings, ...warnings] };
  }

  /**
   * Applies an assignment parsed (and so validated) before, when it arrived: this cannot fail.
   * Returns the hosts added and removed, and a warning per repeated address:port.
   */
  apply(assignment: ParsedAssignment): { value: HostSetChange; warnings: string[] } {
    const warnings: string[] = [];
    const previous = this.byKey;
    const byKey = new Map<string, Host>();
    const added: Host[] = [];
    const all: Host[] = [];
    let maxPriority = 0;
    for (const group of assignment.localities) maxPriority = Math.max(maxPriority, group.priority);
    const levels: { hosts: Host[]; localities: LocalityHosts[] }[] = [];
    for (let p = 0; p <= maxPriority; p++) levels.push({ hosts: [], localities: [] });

    for (const group of assignment.localities) {
      const hosts: Host[] = [];
      for (const e of group.endpoints) {
        const key = hostKey(e.address, e.port);
        if (byKey.has(key)) {
          warnings.push(
            `${prefixOf(this.clusterName)}endpoint ${key} is listed twice; the first is kept`,
          );
          continue;
        }
        let host = previous.get(key);
        if (host === undefined) {
          host = new Host(e.address, e.port);
          added.push(host);
        }
        host.hostname = e.hostname;
        host.metadata = e.metadata;
        host.weight = e.weight;
        host.health = e.health;
        host.locality = group.locality;
        host.priority = group.priority;
        byKey.set(key, host);
        hosts.push(host);
        all.push(host);
      }
      const level = levels[group.priority];
      level.hosts.push(...hosts);
      level.localities.push(
        Object.freeze({
          locality: group.locality,
          weight: group.weight,
          hosts: Object.freeze(hosts),
        }),
      );
    }
    const removed = [...previous.values()].filter((h) => byKey.get(h.key) !== h);

    this.byKey = byKey;
    this._hosts = Object.freeze(all);
    this._priorities = Object.freeze(
      levels.map((l, priority) =>
        Object.freeze({
          priority,
          hosts: Object.freeze(l.hosts),
          localities: Object.freeze(l.localities),
        }),
      ),
    );
    this._overprovisioningFactor = assignment.overprovisioningFactor;
    this._version++;
    return { value: { added, removed }, warnings };
  }
}

function prefixOf(clusterName: string): string {
  return clusterName ? `cluster ${JSON.stringify(clusterName)}: ` : '';
}

/**
 * Validates a ClusterLoadAssignment into the form `HostSet.apply` takes, collecting every
 * problem (so an EDS update can be NACKed before any host set changes).
 */
export function parseAssignment(
  cla: envoy.ClusterLoadAssignment,
  clusterName = '',
): LbResult<ParsedAssignment> {
  const parser = new AssignmentParser(clusterName);
  const localities = parser.parse(cla);
  if (parser.errors.length > 0) return { ok: false, errors: parser.errors };
  const value: ParsedAssignment = Object.freeze({
    localities: Object.freeze(localities),
    overprovisioningFactor:
      wrappedUint(cla.policy?.overprovisioning_factor) ?? DEFAULT_OVERPROVISIONING_FACTOR,
  });
  return { ok: true, value, warnings: parser.warnings };
}

/**
 * The assignment of one endpoint (priority 0, no locality, weight 1), for a cluster built
 * around one known address; nothing to validate.
 */
export function singleEndpoint(address: string, port: number): ParsedAssignment {
  const endpoint: ParsedEndpoint = {
    address,
    port,
    hostname: '',
    weight: 1,
    health: 'UNKNOWN',
    metadata: undefined,
  };
  return Object.freeze({
    localities: Object.freeze([
      { locality: NO_LOCALITY, weight: 1, priority: 0, endpoints: [endpoint] },
    ]),
    overprovisioningFactor: DEFAULT_OVERPROVISIONING_FACTOR,
  });
}

class AssignmentParser {
  readonly errors: LbError[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly clusterName: string) {}

  private prefix(): string {
    return prefixOf(this.clusterName);
  }

  private error(field: string, message: string): LbError {
    return lbError('FERRY_LB_INVALID_ENDPOINTS', field, `${this.prefix()}${message}`);
  }

  parse(cla: envoy.ClusterLoadAssignment): ParsedLocality[] {
    const { errors, warnings } = this;
    if (typeof cla !== 'object' || cla === null) {
      errors.push(this.error('', 'the ClusterLoadAssignment is not an object'));
      return [];
    }
    const factor = wrappedUint(cla.policy?.overprovisioning_factor);
    if (factor !== undefined && !(factor >= 1)) {
      errors.push(
        this.error('policy.overprovisioning_factor', `must be an integer >= 1, got ${factor}`),
      );
    }
    if ((cla.policy?.drop_overloads?.length ?? 0) > 0) {
      warnings.push(`${this.prefix()}policy.drop_overloads is not supported and is ignored`);
    }
    const groups = cla.endpoints ?? [];
    if (!Array.isArray(groups)) {
      errors.push(this.error('endpoints', 'must be a list'));
      return [];
    }
    const parsed: ParsedLocality[] = [];
    groups.forEach((g, i) => {
      if (typeof g === 'object' && g !== null) {
        parsed.push(this.parseLocality(g, `endpoints[${i}]`, errors, warnings));
      } else {
        errors.push(this.error(`endpoints[${i}]`, 'must be an object'));
      }
    });
    return parsed;
  }

  private parseLocality(
    g: envoy.LocalityLbEndpoints,
    path: string,
    errors: LbError[],
    warnings: string[],
  ): ParsedLocality {
    const priority = g.priority ?? 0;
    if (!(Number.isInteger(priority) && priority >= 0 && priority <= MAX_PRIORITY)) {
      errors.push(
        this.error(`${path}.priority`, `must be an integer 0..${MAX_PRIORITY}, got ${priority}`),
      );
    }
    const weight = wrappedUint(g.load_balancing_weight);
    if (!isPositiveInt(weight)) {
      errors.push(
        this.error(`${path}.load_balancing_weight`, `must be an integer >= 1, got ${weight}`),
      );
    }
    const l = g.locality;
    const locality =
      l && (l.region || l.zone || l.sub_zone)
        ? Object.freeze({ region: l.region ?? '', zone: l.zone ?? '', subZone: l.sub_zone ?? '' })
        : NO_LOCALITY;
    const endpoints: ParsedEndpoint[] = [];
    const list = g.lb_endpoints ?? [];
    if (!Array.isArray(list)) errors.push(this.error(`${path}.lb_endpoints`, 'must be a list'));
    else {
      list.forEach((e, j) => {
        const at = `${path}.lb_endpoints[${j}]`;
        if (typeof e !== 'object' || e === null) {
          errors.push(this.error(at, 'must be an object'));
          return;
        }
        const parsed = this.parseEndpoint(e, at, errors, warnings);
        if (parsed) endpoints.push(parsed);
      });
    }
    return { locality, weight: weight ?? 0, priority, endpoints };
  }

  private parseEndpoint(
    e: envoy.LbEndpoint,
    path: string,
    errors: LbError[],
    warnings: string[],
  ): ParsedEndpoint | undefined {
    const socket = e.endpoint?.address?.socket_address;
    const where = `${path}.endpoint.address.socket_address`;
    if (socket === undefined) {
      errors.push(this.error(`${path}.endpoint.address`, 'only socket_address is supported'));
      return undefined;
    }
    const address = socket.address;
    const port = socket.port_value;
    let ok = true;
    if (typeof address !== 'string' || address === '') {
      errors.push(this.error(`${where}.address`, 'must be a non-empty string'));
      ok = false;
    }
    if (!(Number.isInteger(port) && port! >= 1 && port! <= 65535)) {
      const detail = socket.named_port ? ` (named_port is not supported)` : '';
      errors.push(this.error(`${where}.port_value`, `must be 1..65535, got ${port}${detail}`));
      ok = false;
    }
    const weight = wrappedUint(e.load_balancing_weight);
    if (!isPositiveInt(weight)) {
      errors.push(
        this.error(`${path}.load_balancing_weight`, `must be an integer >= 1, got ${weight}`),
      );
      ok = false;
    }
    let health = healthOf(e.health_status);
    if (health === undefined) {
      warnings.push(
        `${this.prefix()}${path}.health_status ${String(e.health_status)} is unknown; treated as UNKNOWN`,
      );
      health = 'UNKNOWN';
    }
    if (!ok) return undefined;
    return {
      address: address!,
      port: port!,
      hostname: e.endpoint?.hostname ?? '',
      weight: weight ?? 1,
      health,
      metadata: e.metadata,
    };
  }
}
