/**
 * Fault injection of services and routes, after Istio's HTTPFaultInjection (delay and abort,
 * each on a percentage of requests) with a header condition, as Envoy's HTTPFault has.
 * https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPFaultInjection
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/fault/v3/fault.proto
 */

import { type Data, int, isRecord, record, str } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import type { FaultInjection } from './model.js';
import { readDuration } from './normalize-duration.js';
import { readHeaderMatch } from './normalize-route.js';

/** gRPC status codes by name (OK is left out: aborting with OK is not a fault). */
export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = Object.freeze({
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
});

function percentage(v: unknown): number {
  // The schema requires a number from 0 to 100; a wrong value reads as 0 (its error is reported).
  return typeof v === 'number' && v >= 0 && v <= 100 ? v : 0;
}

/** `{ fault }` when `raw` is a fault object, else `{}` (absent, or the schema reports it). */
export function normalizeFault(
  raw: unknown,
  path: FieldPath,
  issues: Issue[],
): { fault?: FaultInjection } {
  if (!isRecord(raw)) return {};
  if (raw.delay === undefined && raw.abort === undefined) {
    issues.push({ path, message: 'needs delay, abort or both' });
  }
  const delay = isRecord(raw.delay) ? readDelay(raw.delay, [...path, 'delay'], issues) : undefined;
  const abort = isRecord(raw.abort) ? readAbort(raw.abort, [...path, 'abort'], issues) : undefined;
  const headers = Object.entries(record(raw.headers)).map(([name, value]) =>
    readHeaderMatch(name, record(value), [...path, 'headers', name], issues),
  );
  return {
    fault: {
      ...(delay !== undefined ? { delay } : {}),
      ...(abort !== undefined ? { abort } : {}),
      headers,
    },
  };
}

function readDelay(d: Data, path: FieldPath, issues: Issue[]): FaultInjection['delay'] {
  const fixedDelayMs = readDuration(d, 'fixed', path, issues, true);
  if (fixedDelayMs === undefined) return undefined;
  return { fixedDelayMs, percentage: percentage(d.percentage) };
}

function readAbort(a: Data, path: FieldPath, issues: Issue[]): FaultInjection['abort'] {
  const httpStatus = int(a.httpStatus);
  const grpcName = str(a.grpcStatus);
  const grpcStatus = grpcName !== undefined ? GRPC_STATUS_CODES[grpcName] : undefined;
  if (a.httpStatus !== undefined && a.grpcStatus !== undefined) {
    issues.push({ path, message: 'needs exactly one of httpStatus, grpcStatus; has both' });
    return undefined;
  }
  if (a.httpStatus === undefined && a.grpcStatus === undefined) {
    issues.push({ path, message: 'needs exactly one of httpStatus, grpcStatus' });
    return undefined;
  }
  const pct = percentage(a.percentage);
  if (httpStatus !== undefined) return { httpStatus, percentage: pct };
  if (grpcStatus !== undefined) return { grpcStatus, percentage: pct };
  return undefined;
}
