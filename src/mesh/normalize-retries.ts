/** Retry policies of services and routes, after Envoy's route.v3.RetryPolicy. */

import { int, isRecord, list, record } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import {
  DEFAULT_RETRY_BACKOFF_BASE_MS,
  DEFAULT_RETRY_BACKOFF_MAX_MS,
  type RetryPolicy,
} from './model.js';
import { readDuration } from './normalize-duration.js';

/**
 * Retry conditions when `on` is not given: Istio's default, which retries what is safe to retry
 * (the request never reached the app, or the app said it is unavailable).
 * https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry
 */
export const DEFAULT_RETRY_ON: readonly string[] = Object.freeze([
  'connect-failure',
  'refused-stream',
  'unavailable',
  'cancelled',
  'retriable-status-codes',
]);

/** Status codes retried under `retriable-status-codes` when none are given (Istio's: 503). */
export const DEFAULT_RETRIABLE_STATUS_CODES: readonly number[] = Object.freeze([503]);

/** Envoy's default maximum back-off is ten times the base interval. */
const BACKOFF_MAX_FACTOR = 10;

export function normalizeRetries(raw: unknown, path: FieldPath, issues: Issue[]): RetryPolicy {
  const r = record(raw);
  const givenOn = Array.isArray(r.on)
    ? list(r.on).filter((v): v is string => typeof v === 'string')
    : undefined;
  const on = givenOn ?? DEFAULT_RETRY_ON;
  const givenCodes = Array.isArray(r.retriableStatusCodes)
    ? list(r.retriableStatusCodes).filter((v): v is number => typeof v === 'number')
    : undefined;
  const usesCodes = on.includes('retriable-status-codes');
  if (givenCodes !== undefined && givenCodes.length > 0 && !usesCodes) {
    issues.push({
      path: [...path, 'retriableStatusCodes'],
      message: "has no effect unless 'on' includes retriable-status-codes",
    });
  }
  const retriableStatusCodes = givenCodes ?? (usesCodes ? DEFAULT_RETRIABLE_STATUS_CODES : []);

  const backoff = record(r.backoff);
  const backoffPath = [...path, 'backoff'];
  const base = readDuration(backoff, 'base', backoffPath, issues, true);
  const max = readDuration(backoff, 'max', backoffPath, issues, true);
  const backoffBaseMs = base ?? DEFAULT_RETRY_BACKOFF_BASE_MS;
  const backoffMaxMs =
    max ?? (base !== undefined ? base * BACKOFF_MAX_FACTOR : DEFAULT_RETRY_BACKOFF_MAX_MS);
  if (isRecord(r.backoff) && backoffMaxMs < backoffBaseMs) {
    issues.push({
      path: [...backoffPath, max !== undefined ? 'max' : 'base'],
      message: `the maximum back-off (${backoffMaxMs}ms) is less than the base (${backoffBaseMs}ms)`,
    });
  }

  const perTryTimeoutMs = readDuration(r, 'perTryTimeout', path, issues, true);
  return {
    attempts: int(r.attempts) ?? 0,
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    on,
    retriableStatusCodes,
    backoffBaseMs,
    backoffMaxMs,
  };
}
