/**
 * What an HTTPRoute (or GRPCRoute) rule asks of the data path besides routing: `timeouts`
 * (GEP-1742), `retry` (GEP-1731) and `sessionPersistence` (GEP-1619), read and checked as the
 * CRDs check them (their patterns, ranges and CEL rules), each problem at its own field.
 * https://gateway-api.sigs.k8s.io/reference/spec/#httproutetimeouts
 * https://gateway-api.sigs.k8s.io/reference/spec/#httprouteretry
 * https://gateway-api.sigs.k8s.io/reference/spec/#sessionpersistence
 */
import { type Data, int, list, record, str } from '../parsed-data/index.js';
import type { GatewayApiIssue } from './issue.js';
import type { HttpRouteRetry, HttpRouteTimeouts, SessionPersistence } from './model.js';
import type { Path } from './normalize-refs.js';

/**
 * A Gateway API Duration (GEP-2257): one to four terms of up to five digits, each with a
 * unit h, m, s or ms (`1h`, `500ms`, `1m30s`); no fractions, no sign.
 * https://gateway-api.sigs.k8s.io/geps/gep-2257/
 */
const GATEWAY_DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const TERM = /([0-9]{1,5})(ms|h|m|s)/g;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Gateway API Duration, or undefined when `s` is not one. */
export function parseGatewayDuration(s: string): number | undefined {
  if (!GATEWAY_DURATION.test(s)) return undefined;
  let ms = 0;
  for (const [, value, unit] of s.matchAll(TERM)) ms += Number(value) * UNIT_MS[unit];
  return ms;
}

function readDuration(v: unknown, path: Path, issues: GatewayApiIssue[]): number | undefined {
  if (v === undefined) return undefined;
  const ms = typeof v === 'string' ? parseGatewayDuration(v) : undefined;
  if (ms === undefined) {
    issues.push({
      path,
      message: `'${String(v)}' is not a Gateway API duration (1 to 4 terms like 500ms, 10s, 1m, 1h; no fractions)`,
    });
  }
  return ms;
}

function readTimeouts(raw: Data, path: Path, issues: GatewayApiIssue[]): HttpRouteTimeouts {
  const requestMs = readDuration(raw.request, [...path, 'request'], issues);
  const backendRequestMs = readDuration(raw.backendRequest, [...path, 'backendRequest'], issues);
  // The CRD's CEL rule: a backend request cannot outlast the whole request (unless that is 0s,
  // no limit).
  if (
    requestMs !== undefined &&
    backendRequestMs !== undefined &&
    requestMs !== 0 &&
    backendRequestMs > requestMs
  ) {
    issues.push({
      path: [...path, 'backendRequest'],
      message: `backendRequest timeout cannot be longer than request timeout (${String(raw.backendRequest)} > ${String(raw.request)})`,
    });
  }
  return {
    ...(requestMs !== undefined ? { requestMs } : {}),
    ...(backendRequestMs !== undefined ? { backendRequestMs } : {}),
  };
}

function readRetry(raw: Data, path: Path, issues: GatewayApiIssue[]): HttpRouteRetry {
  const codes: number[] = [];
  list(raw.codes).forEach((c, i) => {
    const code = int(c);
    if (code === undefined || code < 400 || code > 599) {
      issues.push({
        path: [...path, 'codes', i],
        message: `a retry code must be an HTTP status from 400 to 599; got ${JSON.stringify(c)}`,
      });
    } else if (codes.includes(code)) {
      issues.push({ path: [...path, 'codes', i], message: `code ${code} is listed twice` });
    } else codes.push(code);
  });
  const attempts = int(raw.attempts);
  if (raw.attempts !== undefined && (attempts === undefined || attempts < 0)) {
    issues.push({
      path: [...path, 'attempts'],
      message: `attempts must be a whole number, 0 or more; got ${JSON.stringify(raw.attempts)}`,
    });
  }
  const backoffMs = readDuration(raw.backoff, [...path, 'backoff'], issues);
  return {
    codes,
    ...(attempts !== undefined && attempts >= 0 ? { attempts } : {}),
    ...(backoffMs !== undefined ? { backoffMs } : {}),
  };
}

/** RFC 6265 cookie-name (an RFC 9110 token); a header name is a token too. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function readSession(raw: Data, path: Path, issues: GatewayApiIssue[]): SessionPersistence {
  const given = str(raw.type);
  if (given !== undefined && given !== 'Cookie' && given !== 'Header') {
    issues.push({
      path: [...path, 'type'],
      message: `type must be Cookie or Header; got '${given}'`,
    });
  }
  const type = given === 'Header' ? 'Header' : 'Cookie';
  const sessionName = str(raw.sessionName);
  if (sessionName !== undefined && (sessionName.length > 128 || !TOKEN.test(sessionName))) {
    issues.push({
      path: [...path, 'sessionName'],
      message: `'${sessionName}' is not a valid ${type === 'Cookie' ? 'cookie' : 'header'} name (a token of at most 128 characters)`,
    });
  }
  const absoluteTimeoutMs = readDuration(raw.absoluteTimeout, [...path, 'absoluteTimeout'], issues);
  const idleTimeoutMs = readDuration(raw.idleTimeout, [...path, 'idleTimeout'], issues);
  const cookie = record(raw.cookieConfig);
  const lifetime = str(cookie.lifetimeType);
  if (lifetime !== undefined && lifetime !== 'Permanent' && lifetime !== 'Session') {
    issues.push({
      path: [...path, 'cookieConfig', 'lifetimeType'],
      message: `lifetimeType must be Permanent or Session; got '${lifetime}'`,
    });
  }
  const lifetimeType = lifetime === 'Permanent' ? 'Permanent' : 'Session';
  // The CRD's CEL rule.
  if (lifetimeType === 'Permanent' && raw.absoluteTimeout === undefined) {
    issues.push({
      path: [...path, 'cookieConfig', 'lifetimeType'],
      message: 'AbsoluteTimeout must be specified when cookie lifetimeType is Permanent',
    });
  }
  return {
    type,
    ...(sessionName !== undefined ? { sessionName } : {}),
    ...(absoluteTimeoutMs !== undefined ? { absoluteTimeoutMs } : {}),
    ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
    lifetimeType,
  };
}

/**
 * A rule's timeouts, retry and session persistence, as far as it has them. GRPCRoute has no
 * `timeouts` or `retry` (its schema refuses them); both kinds have `sessionPersistence`.
 */
export function readRulePolicy(
  kind: 'HTTPRoute' | 'GRPCRoute',
  r: Data,
  path: Path,
  issues: GatewayApiIssue[],
): {
  readonly timeouts?: HttpRouteTimeouts;
  readonly retry?: HttpRouteRetry;
  readonly sessionPersistence?: SessionPersistence;
} {
  const http = kind === 'HTTPRoute';
  const timeouts =
    http && r.timeouts !== undefined
      ? readTimeouts(record(r.timeouts), [...path, 'timeouts'], issues)
      : undefined;
  const retry =
    http && r.retry !== undefined
      ? readRetry(record(r.retry), [...path, 'retry'], issues)
      : undefined;
  const session =
    r.sessionPersistence !== undefined
      ? readSession(record(r.sessionPersistence), [...path, 'sessionPersistence'], issues)
      : undefined;
  return {
    ...(timeouts ? { timeouts } : {}),
    ...(retry ? { retry } : {}),
    ...(session ? { sessionPersistence: session } : {}),
  };
}
