/**
 * Retry policies and consistent-hash policies of a route.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-retrypolicy
 */
import type { RetryPolicy, ServicePolicy } from '../../mesh/index.js';
import { durationFromMs } from '../../xds/index.js';
import { isConsistentHash } from './clusters.js';
import type { Message } from './resources.js';

/**
 * An envoy.config.route.v3.RetryPolicy, or undefined when the policy allows no retries
 * (gRPC NACKs `num_retries: 0`). Status codes only take effect with the
 * `retriable-status-codes` condition, so it is added when codes are given. The back-off
 * must have a positive base and a maximum no smaller than it (Envoy and gRPC reject others).
 */
export function retryPolicy(r: RetryPolicy): Message | undefined {
  if (!(r.attempts >= 1)) return undefined;
  const on = [...r.on];
  const codes = r.retriableStatusCodes;
  if (codes.length > 0 && !on.includes('retriable-status-codes')) on.push('retriable-status-codes');
  const base = r.backoffBaseMs;
  return {
    ...(on.length ? { retry_on: on.join(',') } : {}),
    num_retries: { value: Math.floor(r.attempts) },
    ...(r.perTryTimeoutMs !== undefined
      ? { per_try_timeout: durationFromMs(r.perTryTimeoutMs) }
      : {}),
    ...(base > 0
      ? {
          retry_back_off: {
            base_interval: durationFromMs(base),
            max_interval: durationFromMs(Math.max(base, r.backoffMaxMs)),
          },
        }
      : {}),
    ...(codes.length ? { retriable_status_codes: [...codes] } : {}),
  };
}

/** What a ring-hash or Maglev balancer hashes on; undefined for other balancers. */
export function hashPolicy(policy: ServicePolicy): Message[] | undefined {
  const on = policy.hashOn;
  if (!on || !isConsistentHash(policy.loadBalancer)) return undefined;
  if ('header' in on) return [{ header: { header_name: on.header } }];
  if ('cookie' in on) {
    const ttl = on.ttlMs !== undefined ? { ttl: durationFromMs(on.ttlMs) } : {};
    return [{ cookie: { name: on.cookie, ...ttl } }];
  }
  return [{ connection_properties: { source_ip: true } }];
}
