/**
 * Fault injection as Envoy's HTTP fault filter, the way Istio emits a VirtualService fault:
 * the outbound connection manager carries the filter with an empty config (it does nothing by
 * itself), and each route that has a fault overrides it in `typed_per_filter_config`.
 * Proxyless gRPC clients run the same filter (gRFC A33), so their API listeners carry it too.
 *
 * A fault's header condition is not put in HTTPFault.headers: grpc-js-xds reads only delay,
 * abort and max_active_faults (A33 leaves `headers` out), so a proxyless client would inject
 * the fault into every request. The route is split instead (routes.ts): a copy whose match
 * also requires the headers carries the fault, and the route itself follows without it. Both
 * data planes then see the same thing.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/fault/v3/fault.proto
 * https://github.com/grpc/proposal/blob/master/A33-Fault-Injection.md
 */
import type { FaultInjection, Service } from '../../mesh/index.js';
import { durationFromMs, messageName, typed, types } from '../../xds/index.js';
import type { Message } from './resources.js';

export const HTTP_FAULT = messageName(types.HTTP_FAULT);
/** The filter's name in the connection manager, which per-route configs are keyed by. */
export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';

/**
 * A percentage (0..100, decimals allowed) as an envoy.type.v3.FractionalPercent: per hundred
 * when whole, else per million (four decimals are kept).
 */
function fractionalPercent(percentage: number): Message {
  if (Number.isInteger(percentage)) return { numerator: percentage, denominator: 'HUNDRED' };
  return { numerator: Math.round(percentage * 10_000), denominator: 'MILLION' };
}

/** The HTTPFault of a fault, without its header condition (see above). */
export function httpFault(fault: FaultInjection): Message {
  const { delay, abort } = fault;
  return typed(HTTP_FAULT, {
    ...(delay
      ? {
          delay: {
            fixed_delay: durationFromMs(delay.fixedDelayMs),
            percentage: fractionalPercent(delay.percentage),
          },
        }
      : {}),
    ...(abort
      ? {
          abort: {
            ...(abort.grpcStatus !== undefined
              ? { grpc_status: abort.grpcStatus }
              : { http_status: abort.httpStatus }),
            percentage: fractionalPercent(abort.percentage),
          },
        }
      : {}),
  });
}

/** The filter for the connection manager: no fault of its own, only per-route ones. */
export function faultFilter(): Message {
  return { name: FAULT_FILTER_NAME, typed_config: typed(HTTP_FAULT, {}) };
}

/** Whether any route (or service policy) of these services injects faults. */
export function anyFault(services: readonly Service[]): boolean {
  return services.some(
    (s) => s.policy.fault !== undefined || s.routes.some((r) => r.fault !== undefined),
  );
}
