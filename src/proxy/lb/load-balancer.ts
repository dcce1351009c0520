/**
 * The load-balancer contract and the registry of policies by Envoy `lb_policy` name.
 *
 * A policy is a factory: `parseConfig` validates its part of the Cluster once per CDS update,
 * `create` builds a balancer over a fixed list of hosts (one priority, health already applied)
 * whenever the hosts or their health change. A balancer is a snapshot: it never looks at config
 * again, and `pick` is synchronous, allocates nothing and throws nothing.
 */
import type { envoy } from '../../xds/index.js';
import type { Host } from './host.js';
import type { LbError } from './lb-error.js';

/** A source of uniform numbers in [0, 1), like Math.random; injected so tests are seeded. */
export type Random = () => number;

export interface PickContext {
  /**
   * The request's consistent hash (see `hashKey`, `combineHashes`), for RING_HASH and MAGLEV;
   * undefined picks a random point. Other policies ignore it. The data path may reuse one
   * context object across requests.
   */
  readonly hash?: number | bigint;
}

/** A context without a hash. */
export const NO_HASH: PickContext = Object.freeze({});

export interface LoadBalancer {
  /** The host for one request, or undefined when there is none (Envoy's "no healthy upstream"). */
  pick(ctx: PickContext): Host | undefined;
}

/** The balancer over no hosts. */
export const NO_HOSTS: LoadBalancer = Object.freeze({ pick: () => undefined });

export type ParseResult<C> =
  | { readonly ok: true; readonly config: C; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly LbError[] };

export interface LoadBalancerFactory<C = unknown> {
  /** The Envoy `Cluster.LbPolicy` name this factory implements, e.g. `ROUND_ROBIN`. */
  readonly policy: string;
  /**
   * True when picks follow `PickContext.hash` (ring hash, Maglev). The priority level is then
   * chosen by the hash as well, and locality weights are not applied, so a key keeps its host.
   */
  readonly consistentHashing: boolean;
  /** Validates and extracts this policy's settings; `cluster.name` is for messages only. */
  parseConfig(cluster: envoy.Cluster): ParseResult<C>;
  /**
   * A balancer over `hosts`, which may be empty. Hosts' `weight` is read here, never in `pick`;
   * their `active` counts may be read in `pick`.
   */
  create(hosts: readonly Host[], config: C, random: Random): LoadBalancer;
}

/** Factories by policy name. The default registry (see `default-registry.ts`) holds the built-ins. */
export class LoadBalancerRegistry {
  private readonly factories = new Map<string, LoadBalancerFactory>();

  constructor(factories: readonly LoadBalancerFactory[] = []) {
    for (const f of factories) this.register(f);
  }

  /** Adds a policy, replacing one registered under the same name. */
  register<C>(factory: LoadBalancerFactory<C>): void {
    this.factories.set(factory.policy, factory as LoadBalancerFactory);
  }

  get(policy: string): LoadBalancerFactory | undefined {
    return this.factories.get(policy);
  }

  /** Registered policy names, sorted. */
  policies(): string[] {
    return [...this.factories.keys()].sort();
  }
}

/** A config-less ParseResult, for policies without settings. */
export const NO_CONFIG: ParseResult<undefined> = Object.freeze({
  ok: true,
  config: undefined,
  warnings: Object.freeze([]) as readonly string[],
});

/** `cluster "name": ` or '' — the prefix of messages about a cluster. */
export function clusterPrefix(cluster: envoy.Cluster): string {
  return cluster.name ? `cluster ${JSON.stringify(cluster.name)}: ` : '';
}
