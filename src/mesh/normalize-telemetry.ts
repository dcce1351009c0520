/**
 * The telemetry blocks of the mesh file (mesh.telemetry, services[].telemetry): defaults
 * applied, and what the schema cannot say (a port in range, a path only OTLP/HTTP uses).
 */

import { bool, type Data, isRecord, list, oneOf, str } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import type {
  AccessLogSettings,
  MeshTelemetry,
  ServiceTelemetry,
  TracePropagation,
  TracingSettings,
} from './model.js';

const PROPAGATIONS: readonly TracePropagation[] = ['w3c', 'b3', 'b3multi'];
export const DEFAULT_OTLP_HTTP_PATH = '/v1/traces';

export function normalizeMeshTelemetry(
  raw: unknown,
  path: FieldPath,
  issues: Issue[],
): MeshTelemetry | undefined {
  if (!isRecord(raw)) return undefined;
  const tracing = isRecord(raw.tracing)
    ? readTracing(raw.tracing, [...path, 'tracing'], issues)
    : undefined;
  const accessLog = readAccessLog(raw.accessLog, [...path, 'accessLog'], issues);
  const clusterName = str(raw.clusterName);
  const peerMetadata = bool(raw.peerMetadata);
  return {
    ...(tracing !== undefined ? { tracing } : {}),
    ...(accessLog !== undefined ? { accessLog } : {}),
    ...(clusterName !== undefined ? { clusterName } : {}),
    ...(peerMetadata !== undefined ? { peerMetadata } : {}),
  };
}

export function normalizeServiceTelemetry(
  raw: unknown,
  path: FieldPath,
  issues: Issue[],
): ServiceTelemetry | undefined {
  if (!isRecord(raw)) return undefined;
  const accessLog = readAccessLog(raw.accessLog, [...path, 'accessLog'], issues);
  return accessLog !== undefined ? { accessLog } : undefined;
}

function readTracing(t: Data, path: FieldPath, issues: Issue[]): TracingSettings | undefined {
  const collector = str(t.collector) ?? '';
  const colon = collector.lastIndexOf(':');
  const host = collector.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(collector.slice(colon + 1));
  if (colon > 0 && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    issues.push({
      path: [...path, 'collector'],
      message: `port ${collector.slice(colon + 1)} is out of range 1..65535`,
    });
  }
  const protocol = oneOf(t.protocol, ['http', 'grpc'] as const) ?? 'http';
  if (t.path !== undefined && protocol === 'grpc') {
    issues.push({
      path: [...path, 'path'],
      at: 'key',
      message: 'path applies to protocol http; OTLP over gRPC has no request path',
    });
  }
  const propagation = list(t.propagation)
    .map((p) => oneOf(p, PROPAGATIONS))
    .filter((p): p is TracePropagation => p !== undefined);
  const sampling = typeof t.sampling === 'number' ? t.sampling : 100;
  if (colon <= 0) return undefined;
  return {
    host,
    port,
    protocol,
    path: str(t.path) ?? DEFAULT_OTLP_HTTP_PATH,
    sampling,
    propagation: propagation.length > 0 ? propagation : ['w3c'],
  };
}

function readAccessLog(
  raw: unknown,
  path: FieldPath,
  issues: Issue[],
): AccessLogSettings | undefined {
  if (!isRecord(raw)) return undefined;
  const a = raw;
  const enabled = bool(a.enabled) ?? false;
  const file = str(a.path);
  if (file !== undefined && !enabled) {
    issues.push({
      path: [...path, 'path'],
      at: 'key',
      message: 'path applies when enabled is true; with access logs off it has no effect',
    });
  }
  return { enabled, ...(file !== undefined && file !== '-' ? { path: file } : {}) };
}
