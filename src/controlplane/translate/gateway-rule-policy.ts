/**
 * An HTTPRoute rule's timeouts, retry and session persistence as the mesh's own route
 * settings (a route timeout, a retry policy, a session), so that a rule on a Gateway and one
 * on a Service (GAMMA) become the same Envoy fields: RouteAction.timeout, RetryPolicy
 * (retriable_status_codes, num_retries, per_try_timeout, retry_back_off) and the stateful
 * session filter's per-route config, as Envoy Gateway maps them.
 * https://gateway-api.sigs.k8s.io/geps/gep-1742/ (timeouts)
 * https://gateway-api.sigs.k8s.io/geps/gep-1731/ (retries)
 * https://gateway-api.sigs.k8s.io/geps/gep-1619/ (session persistence)
 */
import {
  effectivePrefix,
  type HttpRouteMatch,
  type HttpRouteRule,
} from '../../gatewayapi/index.js';
import type { RetryPolicy, SessionAffinity } from '../../mesh/index.js';

/** What a rule's timeouts, retry and sessionPersistence ask of its routes. */
export interface RulePolicy {
  /** The route timeout; 0 disables it; absent: the default (Envoy's 15 s). */
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  readonly session?: SessionAffinity;
}

/**
 * GEP-1731: a retry stanza retries the codes it lists and, as implementations SHOULD, the
 * failures where the request never reached the backend: a connection that could not be made,
 * a stream the backend refused. Not resets after the request went out (not idempotent-safe).
 */
const RETRY_ON: readonly string[] = Object.freeze(['connect-failure', 'refused-stream']);

/** Retries after the first try when `attempts` is not given: Envoy's default, 1. */
const DEFAULT_ATTEMPTS = 1;
/** Envoy's default back-off base, and its maximum as a factor of the base. */
const DEFAULT_BACKOFF_MS = 25;
const BACKOFF_MAX_FACTOR = 10;

/** The cookie or header name when sessionName is not given (implementation-specific). */
export const DEFAULT_SESSION_COOKIE = 'ferry-session';
export const DEFAULT_SESSION_HEADER = 'x-ferry-session';

/**
 * The cookie's Path: the match's path where it is a literal (GEP-1619: the route's path,
 * so the cookie comes back only on requests the route serves), `/` for a regular expression.
 */
function cookiePath(match: HttpRouteMatch): string {
  if (match.path.type === 'Exact') return match.path.value;
  if (match.path.type === 'PathPrefix') return effectivePrefix(match.path.value) || '/';
  return '/';
}

function session(rule: HttpRouteRule, match: HttpRouteMatch): SessionAffinity | undefined {
  const s = rule.sessionPersistence;
  if (s === undefined) return undefined;
  if (s.type === 'Header') {
    return { kind: 'header', name: (s.sessionName ?? DEFAULT_SESSION_HEADER).toLowerCase() };
  }
  // A Permanent cookie lives absoluteTimeout (Max-Age, and the proxy checks the expiry the
  // cookie carries); a Session cookie ends with the browser session.
  const ttl = s.lifetimeType === 'Permanent' ? s.absoluteTimeoutMs : undefined;
  return {
    kind: 'cookie',
    name: s.sessionName ?? DEFAULT_SESSION_COOKIE,
    path: cookiePath(match),
    ...(ttl !== undefined ? { ttlMs: ttl } : {}),
  };
}

/**
 * The rule's policy. Timeouts: `request` is the route timeout; `backendRequest` the per-try
 * timeout when the rule retries, else (one try only) the route timeout when it is the
 * shorter one, so a backend request never outlasts it either way. Without `request` but with
 * retries and `backendRequest`, the route timeout is off: each try is bounded, and so is
 * their number. Retry: `attempts` 0 turns retries off (the spec's MUST).
 */
export function rulePolicy(rule: HttpRouteRule, match: HttpRouteMatch): RulePolicy {
  const retry = rule.retry;
  const attempts = retry === undefined ? 0 : (retry.attempts ?? DEFAULT_ATTEMPTS);
  const request = rule.timeouts?.requestMs;
  const backend = rule.timeouts?.backendRequestMs || undefined; // 0s: no per-try limit
  let timeoutMs = request;
  if (
    backend !== undefined &&
    attempts === 0 &&
    (request === undefined || request === 0 || backend < request)
  ) {
    timeoutMs = backend;
  } else if (backend !== undefined && attempts > 0 && request === undefined) {
    timeoutMs = 0;
  }
  const base = retry?.backoffMs || DEFAULT_BACKOFF_MS;
  // attempts 0 is kept (and emits no retry_policy): on a Service parent it must also turn
  // off the retries of the service's own policy, which a route without retries inherits.
  const retries: RetryPolicy | undefined =
    retry !== undefined
      ? {
          attempts,
          on: RETRY_ON,
          retriableStatusCodes: retry.codes,
          backoffBaseMs: base,
          backoffMaxMs: base * BACKOFF_MAX_FACTOR,
          ...(backend !== undefined ? { perTryTimeoutMs: backend } : {}),
        }
      : undefined;
  const sticky = session(rule, match);
  return {
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(retries ? { retries } : {}),
    ...(sticky ? { session: sticky } : {}),
  };
}

/**
 * The fields of a rule's sessionPersistence that Ferry accepts but cannot apply (Envoy's
 * cookie state has no field for them either), for a warning: an idle timeout, and the
 * absolute timeout of a Session cookie (a Permanent one is its Max-Age).
 */
export function unappliedSessionFields(rule: HttpRouteRule): string[] {
  const s = rule.sessionPersistence;
  if (s === undefined) return [];
  return [
    ...(s.idleTimeoutMs !== undefined ? ['idleTimeout'] : []),
    ...(s.absoluteTimeoutMs !== undefined && s.lifetimeType === 'Session'
      ? ['absoluteTimeout of a Session cookie']
      : []),
  ];
}
