/**
 * Active health checks of a service or subset, after Envoy's HealthCheck: an HTTP GET of a
 * path answered with an expected status, a TCP connect, or the gRPC health protocol, with
 * timing and thresholds. Envoy requires the timing; where the file is silent the defaults of a
 * Kubernetes probe apply (model.ts).
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/core/v3/health_check.proto
 */

import { type Data, int, isRecord, list, str } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import {
  DEFAULT_HEALTH_CHECK_INTERVAL_MS,
  DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
  DEFAULT_HEALTHY_THRESHOLD,
  DEFAULT_UNHEALTHY_THRESHOLD,
  type HealthCheck,
  type HealthCheckKind,
} from './model.js';
import { readDuration } from './normalize-duration.js';

const KINDS = ['http', 'tcp', 'grpc'] as const;

/** Envoy's expected_statuses default: 200 only. */
const OK_ONLY: readonly (readonly [number, number])[] = [[200, 201]];

/** `{ healthCheck }` when `raw` is a health check object, else `{}` (absent, or the schema reports it). */
export function normalizeHealthCheck(
  raw: unknown,
  path: FieldPath,
  issues: Issue[],
): { healthCheck?: HealthCheck } {
  if (!isRecord(raw)) return {};
  const chosen = KINDS.filter((k) => raw[k] !== undefined);
  if (chosen.length !== 1) {
    issues.push({
      path,
      message: `needs exactly one of ${KINDS.join(', ')}${chosen.length > 1 ? `; has ${chosen.join(', ')}` : ''}`,
    });
  }
  const kind = readKind(raw, chosen[0], path, issues);
  const intervalMs = readDuration(raw, 'interval', path, issues, true);
  const timeoutMs = readDuration(raw, 'timeout', path, issues, true);
  if (kind === undefined) return {};
  return {
    healthCheck: {
      kind,
      intervalMs: intervalMs ?? DEFAULT_HEALTH_CHECK_INTERVAL_MS,
      timeoutMs: timeoutMs ?? DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
      healthyThreshold: int(raw.healthyThreshold) ?? DEFAULT_HEALTHY_THRESHOLD,
      unhealthyThreshold: int(raw.unhealthyThreshold) ?? DEFAULT_UNHEALTHY_THRESHOLD,
    },
  };
}

function readKind(
  raw: Data,
  chosen: (typeof KINDS)[number] | undefined,
  path: FieldPath,
  issues: Issue[],
): HealthCheckKind | undefined {
  if (chosen === 'tcp') return { type: 'tcp' };
  if (chosen === 'grpc') {
    const g = isRecord(raw.grpc) ? raw.grpc : {};
    return { type: 'grpc', service: str(g.service) ?? '' };
  }
  if (chosen !== 'http' || !isRecord(raw.http)) return undefined;
  const h = raw.http;
  const statusesPath = [...path, 'http', 'expectedStatuses'];
  const expected = list(h.expectedStatuses).flatMap((item, k) => {
    const range = statusRange(item);
    if (range === undefined) return [];
    if (range[0] >= range[1]) {
      issues.push({
        path: [...statusesPath, k],
        message: `the range ${String(item)} is empty: its first status is above its last`,
      });
      return [];
    }
    return [range];
  });
  const host = str(h.host);
  return {
    type: 'http',
    path: str(h.path) ?? '/',
    ...(host !== undefined ? { host } : {}),
    expectedStatuses: expected.length > 0 ? expected : OK_ONLY,
  };
}

/** A status (`200`) or an inclusive range (`"200-299"`) as the half-open range Envoy takes. */
function statusRange(item: unknown): readonly [number, number] | undefined {
  const status = int(item);
  if (status !== undefined) return [status, status + 1];
  const match = /^(\d{3})-(\d{3})$/.exec(str(item) ?? '');
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]) + 1];
}
