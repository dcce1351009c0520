/**
 * Local rate limits as Envoy's local_ratelimit HTTP filter: a service's limit in its sidecars'
 * inbound connection manager (every request the sidecar accepts takes a token), a route's
 * limit as the route's `typed_per_filter_config` on the callers' outbound side, where the
 * outbound connection manager carries the filter without a bucket of its own.
 * A mesh limit of N per unit with burst B is a bucket of N + B tokens refilled with N every
 * unit; requests finding it empty get 429.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/local_rate_limit_filter
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto
 */
import type { RateLimit, Service } from '../../mesh/index.js';
import { durationFromMs, messageName, typed, types } from '../../xds/index.js';
import type { Message } from './resources.js';

export const LOCAL_RATE_LIMIT = messageName(types.LOCAL_RATE_LIMIT);
export const RATE_LIMIT_FILTER_NAME = 'envoy.filters.http.local_ratelimit';
const FILTER_CONFIG = messageName(types.FILTER_CONFIG);

const UNIT_MS: Readonly<Record<RateLimit['unit'], number>> = { second: 1000, minute: 60_000 };

/** Always on and always enforced: the runtime keys only name the fractions. */
function fullyOn(key: string): Message {
  return { default_value: { numerator: 100, denominator: 'HUNDRED' }, runtime_key: key };
}

/** A LocalRateLimit with the limit's token bucket, answering 429 when it is empty. */
function localRateLimit(statPrefix: string, limit: RateLimit): Message {
  return typed(LOCAL_RATE_LIMIT, {
    stat_prefix: statPrefix,
    status: { code: 'TooManyRequests' },
    token_bucket: {
      max_tokens: limit.requestsPerUnit + limit.burst,
      tokens_per_fill: { value: limit.requestsPerUnit },
      fill_interval: durationFromMs(UNIT_MS[limit.unit]),
    },
    filter_enabled: fullyOn('local_rate_limit_enabled'),
    filter_enforced: fullyOn('local_rate_limit_enforced'),
  });
}

/** The inbound filter of a service with a limit. */
export function inboundRateLimitFilter(limit: RateLimit): Message {
  return {
    name: RATE_LIMIT_FILTER_NAME,
    typed_config: localRateLimit('inbound_local_rate_limit', limit),
  };
}

/** The outbound filter: no bucket of its own, so only routes with a limit are limited. */
export function outboundRateLimitFilter(): Message {
  return {
    name: RATE_LIMIT_FILTER_NAME,
    typed_config: typed(LOCAL_RATE_LIMIT, { stat_prefix: 'outbound_local_rate_limit' }),
  };
}

/**
 * A route's limit for `typed_per_filter_config`, wrapped in an optional FilterConfig:
 * proxyless gRPC clients do not know this filter, and would reject the route configuration
 * for an unknown override unless it is marked optional (gRFC A39).
 * One mesh route can become several Envoy routes (one per alternative match, and a fault's
 * header split), which Envoy would give a bucket each. The stat prefix names the mesh route
 * (`route_local_rate_limit.<host>:<port>/<route>`), so a sidecar that keys its buckets by
 * it keeps one bucket per mesh route, as the mesh file means.
 * https://github.com/grpc/proposal/blob/master/A39-xds-http-filters.md
 */
export function routeRateLimitConfig(bucket: string, limit: RateLimit): Message {
  return typed(FILTER_CONFIG, {
    config: localRateLimit(`route_local_rate_limit.${bucket}`, limit),
    is_optional: true,
  });
}

/** Whether any route of these services has a limit. */
export function anyRouteRateLimit(services: readonly Service[]): boolean {
  return services.some((s) => s.routes.some((r) => r.rateLimit !== undefined));
}
