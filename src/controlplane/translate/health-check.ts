/**
 * A mesh health check as Envoy's `Cluster.health_checks` entry: timing, thresholds and one of
 * http_health_check, tcp_health_check, grpc_health_check.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/core/v3/health_check.proto
 */
import type { HealthCheck } from '../../mesh/index.js';
import { durationFromMs } from '../../xds/index.js';
import type { Message } from './resources.js';

function kindFields(check: HealthCheck): Message {
  const kind = check.kind;
  switch (kind.type) {
    case 'http':
      return {
        http_health_check: {
          path: kind.path,
          ...(kind.host !== undefined ? { host: kind.host } : {}),
          expected_statuses: kind.expectedStatuses.map(([start, end]) => ({ start, end })),
        },
      };
    case 'tcp':
      // An empty payload: the check passes when the connection opens.
      return { tcp_health_check: {} };
    case 'grpc':
      return { grpc_health_check: { service_name: kind.service } };
  }
}

export function healthCheck(check: HealthCheck): Message {
  return {
    timeout: durationFromMs(check.timeoutMs),
    interval: durationFromMs(check.intervalMs),
    unhealthy_threshold: { value: check.unhealthyThreshold },
    healthy_threshold: { value: check.healthyThreshold },
    ...kindFields(check),
  };
}
