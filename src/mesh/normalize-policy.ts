/** A service's client-side policy: balancing, timeouts, retries, circuit breaking, ejection. */

import { type Data, definedOnly, int, isRecord, oneOf, record, str } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import {
  type CircuitBreaker,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type HashOn,
  type LoadBalancer,
  type MtlsMode,
  type OutlierDetection,
  type ServicePolicy,
} from './model.js';
import { readDuration } from './normalize-duration.js';
import { normalizeFault } from './normalize-fault.js';
import { normalizeHealthCheck } from './normalize-health-check.js';
import { normalizeRateLimit } from './normalize-rate-limit.js';
import { normalizeRetries } from './normalize-retries.js';

export const LOAD_BALANCERS: readonly LoadBalancer[] = [
  'round_robin',
  'least_request',
  'ring_hash',
  'maglev',
  'random',
];
export const MTLS_MODES: readonly MtlsMode[] = ['STRICT', 'PERMISSIVE', 'DISABLE'];

/** Only consistent-hash balancers look at a hash policy; Envoy ignores it elsewhere. */
const HASHING: readonly LoadBalancer[] = ['ring_hash', 'maglev'];

export function normalizePolicy(raw: unknown, path: FieldPath, issues: Issue[]): ServicePolicy {
  const p = record(raw);
  const loadBalancer = oneOf(p.loadBalancer, LOAD_BALANCERS) ?? 'round_robin';
  const hashOn = isRecord(p.hashOn) ? readHashOn(p.hashOn, [...path, 'hashOn'], issues) : undefined;
  if (hashOn !== undefined && !HASHING.includes(loadBalancer)) {
    issues.push({
      path: [...path, 'hashOn'],
      message: `needs loadBalancer ring_hash or maglev; the load balancer is ${loadBalancer}`,
    });
  }
  const timeoutMs = readDuration(p, 'timeout', path, issues);
  const connectTimeoutMs = readDuration(p, 'connectTimeout', path, issues, true);
  const mtls = oneOf(p.mtls, MTLS_MODES);
  return {
    loadBalancer,
    ...(hashOn !== undefined ? { hashOn } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    connectTimeoutMs: connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ...(isRecord(p.retries)
      ? { retries: normalizeRetries(p.retries, [...path, 'retries'], issues) }
      : {}),
    ...(isRecord(p.circuitBreaker) ? { circuitBreaker: readCircuitBreaker(p.circuitBreaker) } : {}),
    ...(isRecord(p.outlierDetection)
      ? {
          outlierDetection: readOutlierDetection(
            p.outlierDetection,
            [...path, 'outlierDetection'],
            issues,
          ),
        }
      : {}),
    ...(mtls !== undefined ? { mtls } : {}),
    ...normalizeFault(p.fault, [...path, 'fault'], issues),
    ...normalizeRateLimit(p.rateLimit),
    ...normalizeHealthCheck(p.healthCheck, [...path, 'healthCheck'], issues),
    ...(typeof p.panicThreshold === 'number' ? { panicThreshold: p.panicThreshold } : {}),
  };
}

function readHashOn(h: Data, path: FieldPath, issues: Issue[]): HashOn | undefined {
  const chosen = ['header', 'cookie', 'sourceIp'].filter((k) => h[k] !== undefined);
  if (chosen.length > 1) {
    issues.push({
      path,
      message: `needs exactly one of header, cookie, sourceIp; has ${chosen.join(', ')}`,
    });
    return undefined;
  }
  if (h.ttl !== undefined && h.cookie === undefined) {
    issues.push({ path: [...path, 'ttl'], at: 'key', message: 'ttl only applies to cookie' });
  }
  const header = str(h.header);
  if (header !== undefined) return { header: header.toLowerCase() };
  const cookie = str(h.cookie);
  if (cookie !== undefined) {
    const ttlMs = readDuration(h, 'ttl', path, issues);
    return ttlMs !== undefined ? { cookie, ttlMs } : { cookie };
  }
  if (h.sourceIp === true) return { sourceIp: true };
  return undefined;
}

function readCircuitBreaker(c: Data): CircuitBreaker {
  return definedOnly({
    maxConnections: int(c.maxConnections),
    maxPendingRequests: int(c.maxPendingRequests),
    maxRequests: int(c.maxRequests),
    maxRetries: int(c.maxRetries),
  });
}

function readOutlierDetection(o: Data, path: FieldPath, issues: Issue[]): OutlierDetection {
  return definedOnly({
    consecutive5xx: int(o.consecutive5xx),
    consecutiveGatewayErrors: int(o.consecutiveGatewayErrors),
    consecutiveLocalOriginFailures: int(o.consecutiveLocalOriginFailures),
    intervalMs: readDuration(o, 'interval', path, issues, true),
    baseEjectionTimeMs: readDuration(o, 'baseEjectionTime', path, issues, true),
    maxEjectionPercent: int(o.maxEjectionPercent),
    successRate: isRecord(o.successRate)
      ? definedOnly({
          minimumHosts: int(o.successRate.minimumHosts),
          requestVolume: int(o.successRate.requestVolume),
          stdevFactor:
            typeof o.successRate.stdevFactor === 'number' ? o.successRate.stdevFactor : undefined,
        })
      : undefined,
    failurePercentage: isRecord(o.failurePercentage)
      ? definedOnly({
          threshold: int(o.failurePercentage.threshold),
          minimumHosts: int(o.failurePercentage.minimumHosts),
          requestVolume: int(o.failurePercentage.requestVolume),
        })
      : undefined,
  });
}
