/**
 * The HTTP filters a route's `typed_per_filter_config` configures: fault injection
 * (envoy.filters.http.fault) and local rate limits (envoy.filters.http.local_ratelimit),
 * compiled once per route (the first time a request takes it) and kept. Rate limiters are
 * shared by their stat prefix: one mesh route may be several Envoy routes, with one bucket.
 */

import type { envoy } from '../../xds/index.js';
import { compileFault, type FaultPolicy } from '../fault/index.js';
import { compileLocalRateLimit, type LocalRateLimiter } from '../ratelimit/index.js';
import type { ForwardRoute } from '../router/index.js';

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const RATE_LIMIT_FILTER = 'envoy.filters.http.local_ratelimit';

interface Compiled {
  readonly fault: FaultPolicy | undefined;
  readonly limiter: LocalRateLimiter | undefined;
}

const NONE: Compiled = Object.freeze({ fault: undefined, limiter: undefined });

export class RouteFilters {
  private readonly byRoute = new WeakMap<ForwardRoute, Compiled>();
  private readonly limiters = new Map<string, LocalRateLimiter>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The route's fault policy and rate limiter (either may be undefined). */
  of(route: ForwardRoute): Compiled {
    let c = this.byRoute.get(route);
    if (c) return c;
    c = this.compile(route.perFilterConfig);
    this.byRoute.set(route, c);
    return c;
  }

  private compile(config: ForwardRoute['perFilterConfig']): Compiled {
    if (!config) return NONE;
    const faultConfig = config[FAULT_FILTER];
    const limitConfig = config[RATE_LIMIT_FILTER];
    // The configs were checked when they arrived (the xDS client NACKs bad ones).
    const fault = faultConfig ? compileFault(faultConfig as never) : undefined;
    let limiter = limitConfig ? compileLocalRateLimit(limitConfig as never, this.now()) : undefined;
    if (limiter) {
      const shared = this.limiters.get(limiter.statPrefix);
      if (shared) limiter = shared;
      else this.limiters.set(limiter.statPrefix, limiter);
    }
    return fault || limiter ? { fault, limiter } : NONE;
  }
}

/** Checks a RouteConfiguration's per-route filter configs; the first error, if any. */
export function checkRouteFilters(routeConfig: envoy.RouteConfiguration): string | undefined {
  for (const vh of routeConfig.virtual_hosts ?? []) {
    for (const r of vh.routes ?? []) {
      const c = r.typed_per_filter_config;
      if (!c) continue;
      try {
        if (c[FAULT_FILTER]) compileFault(c[FAULT_FILTER] as never);
        if (c[RATE_LIMIT_FILTER]) compileLocalRateLimit(c[RATE_LIMIT_FILTER] as never, 0);
      } catch (err) {
        return `virtual host ${JSON.stringify(vh.name ?? '')} route ${JSON.stringify(r.name ?? '')}: ${(err as Error).message}`;
      }
    }
  }
  return undefined;
}
