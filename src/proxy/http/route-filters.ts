/**
 * The HTTP filters a route's `typed_per_filter_config` configures: fault injection
 * (envoy.filters.http.fault) and local rate limits (envoy.filters.http.local_ratelimit),
 * compiled for every route of a route table when the table arrives, so a bad config is a
 * NACK and a request only looks its route's filters up. Rate limiters are shared by their
 * stat prefix: one mesh route may be several Envoy routes, with one bucket; a limiter whose
 * config did not change keeps its bucket across updates of the table.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/local_rate_limit_filter
 */
import { compileFault } from '../fault/index.js';
import { compileLocalRateLimit, type LocalRateLimiter } from '../ratelimit/index.js';
import type { ForwardRoute, RouteTable } from '../router/index.js';
import type { RouteFilterSet } from '../stack/index.js';

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const RATE_LIMIT_FILTER = 'envoy.filters.http.local_ratelimit';

const NONE: RouteFilterSet = Object.freeze({ fault: undefined, limiter: undefined });

interface SharedLimiter {
  /** The config it was compiled from (JSON), to tell whether an update changed it. */
  readonly key: string;
  readonly limiter: LocalRateLimiter;
}

export type RouteFiltersResult =
  | { readonly ok: true; readonly filters: RouteFilters }
  | { readonly ok: false; readonly error: string };

/** The compiled per-route filters of one route table; immutable once built. */
export class RouteFilters {
  private constructor(
    private readonly byRoute: ReadonlyMap<ForwardRoute, RouteFilterSet>,
    private readonly limiters: ReadonlyMap<string, SharedLimiter>,
    /** How many filter configs were compiled to build this set. */
    readonly compiled: number,
  ) {}

  /** A table without per-route filters. */
  static readonly EMPTY = new RouteFilters(new Map(), new Map(), 0);

  /**
   * Compiles the filters of every route of `table`, or says which route's config is bad
   * (every problem). `previous`: the set of the table this one replaces, whose unchanged
   * limiters (same stat prefix, same config) keep their buckets.
   */
  static compile(
    table: RouteTable,
    now: number,
    previous: RouteFilters | undefined,
  ): RouteFiltersResult {
    const errors: string[] = [];
    const byRoute = new Map<ForwardRoute, RouteFilterSet>();
    const limiters = new Map<string, SharedLimiter>();
    let compiled = 0;
    for (const route of table.routes) {
      if (route.kind !== 'forward' || route.perFilterConfig === undefined) continue;
      const config = route.perFilterConfig;
      const faultConfig = config[FAULT_FILTER];
      const limitConfig = config[RATE_LIMIT_FILTER];
      if (!faultConfig && !limitConfig) continue;
      try {
        compiled += (faultConfig ? 1 : 0) + (limitConfig ? 1 : 0);
        const fault = faultConfig ? compileFault(faultConfig) : undefined;
        const limiter = limitConfig
          ? shared(limitConfig, now, limiters, previous?.limiters)
          : undefined;
        if (fault || limiter) byRoute.set(route, Object.freeze({ fault, limiter }));
      } catch (err) {
        errors.push(
          `virtual host ${JSON.stringify(route.virtualHost)} route ${JSON.stringify(route.name)}: ${(err as Error).message}`,
        );
      }
    }
    if (errors.length > 0) return { ok: false, error: errors.join('; ') };
    if (byRoute.size === 0) return { ok: true, filters: RouteFilters.EMPTY };
    return { ok: true, filters: new RouteFilters(byRoute, limiters, compiled) };
  }

  /** The route's fault policy and rate limiter (either may be undefined). Compiles nothing. */
  of(route: ForwardRoute): RouteFilterSet {
    return this.byRoute.get(route) ?? NONE;
  }
}

/** The limiter for a config: one per stat prefix in the table, kept from `before` if unchanged. */
function shared(
  config: object,
  now: number,
  limiters: Map<string, SharedLimiter>,
  before: ReadonlyMap<string, SharedLimiter> | undefined,
): LocalRateLimiter | undefined {
  const limiter = compileLocalRateLimit(config, now);
  if (!limiter) return undefined;
  const prefix = limiter.statPrefix;
  const inTable = limiters.get(prefix);
  if (inTable) return inTable.limiter;
  const key = JSON.stringify(config);
  const kept = before?.get(prefix);
  const entry = kept?.key === key ? kept : { key, limiter };
  limiters.set(prefix, entry);
  return entry.limiter;
}
