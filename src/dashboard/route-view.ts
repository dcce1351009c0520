/**
 * A service's routes and policy as a person reads them: one row per route with its matches,
 * where its traffic goes (with each backend's share in percent), what it mirrors and what
 * fault it injects; the policy as short `key: value` lines. Pure; the page only prints them.
 */
import type {
  Backend,
  FaultInjection,
  HeaderMatch,
  Route,
  RouteMatch,
  Service,
  ServicePolicy,
  StringMatch,
} from '../mesh/index.js';

export interface RouteRow {
  readonly name: string;
  /** Alternatives (OR), each a conjunction of conditions, e.g. `path ^= /api · GET`. */
  readonly matches: readonly string[];
  /** `reviews v2 80%`. */
  readonly destinations: readonly string[];
  readonly mirror: string | undefined;
  readonly fault: string | undefined;
  /** Timeout and retries, when the route sets them. */
  readonly limits: string | undefined;
}

function stringMatch(m: StringMatch): string {
  if ('exact' in m) return `= ${m.exact}`;
  if ('prefix' in m) return `^= ${m.prefix}`;
  return `~ ${m.regex}`;
}

function header(h: HeaderMatch): string {
  const cond = h.match ? `${h.name} ${stringMatch(h.match)}` : `${h.name} present`;
  return h.invert ? `not (${cond})` : cond;
}

function matchText(m: RouteMatch): string {
  const parts: string[] = [];
  if (m.path) parts.push(`path ${stringMatch(m.path)}`);
  if (m.method) parts.push(m.method);
  for (const h of m.headers) parts.push(`header ${header(h)}`);
  for (const q of m.queryParams) {
    parts.push(`query ${q.match ? `${q.name} ${stringMatch(q.match)}` : `${q.name} present`}`);
  }
  return parts.length > 0 ? parts.join(' · ') : 'any request';
}

function target(
  b: { service: string; namespace: string; subset?: string; port?: number },
  home: Service,
): string {
  const name = b.namespace === home.namespace ? b.service : `${b.service}.${b.namespace}`;
  return [name, b.subset, b.port ? `:${b.port}` : undefined].filter((x) => x).join(' ');
}

function destinations(backends: readonly Backend[], home: Service): string[] {
  if (backends.length === 0) return [`${home.name} 100%`];
  const total = backends.reduce((n, b) => n + b.weight, 0);
  return backends.map((b) => {
    const share = total > 0 ? (100 * b.weight) / total : 100 / backends.length;
    return `${target(b, home)} ${Number.isInteger(share) ? share : share.toFixed(1)}%`;
  });
}

export function faultText(f: FaultInjection | undefined): string | undefined {
  if (!f) return undefined;
  const parts: string[] = [];
  if (f.delay) parts.push(`delay ${f.delay.fixedDelayMs} ms to ${f.delay.percentage}%`);
  if (f.abort) {
    const what =
      f.abort.httpStatus !== undefined
        ? `HTTP ${f.abort.httpStatus}`
        : `gRPC ${f.abort.grpcStatus}`;
    parts.push(`abort ${what} to ${f.abort.percentage}%`);
  }
  if (f.headers.length > 0) parts.push(`when ${f.headers.map(header).join(' and ')}`);
  return parts.join(', ');
}

function limits(r: Route): string | undefined {
  const parts: string[] = [];
  if (r.timeoutMs !== undefined) parts.push(`timeout ${r.timeoutMs} ms`);
  if (r.retries) parts.push(`${r.retries.attempts} retries`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

export function routeRows(service: Service): RouteRow[] {
  const rows = service.routes.map((r) => ({
    name: r.name,
    matches: r.match.length > 0 ? r.match.map(matchText) : ['any request'],
    destinations: destinations(r.backends, service),
    mirror: r.mirror ? `${target(r.mirror, service)} (${r.mirror.percentage}%)` : undefined,
    fault: faultText(r.fault),
    limits: limits(r),
  }));
  // What no route matches goes to the service itself (README: the mesh file).
  rows.push({
    name: '(default)',
    matches: ['anything else'],
    destinations: destinations([], service),
    mirror: undefined,
    fault: faultText(service.policy.fault),
    limits: undefined,
  });
  return rows;
}

/** The policy as `key: value` lines. */
export function policyLines(p: ServicePolicy): string[] {
  const lines = [`load balancer: ${p.loadBalancer}`, `connect timeout: ${p.connectTimeoutMs} ms`];
  if (p.timeoutMs !== undefined) lines.push(`timeout: ${p.timeoutMs} ms`);
  if (p.retries) {
    const per =
      p.retries.perTryTimeoutMs !== undefined ? `, ${p.retries.perTryTimeoutMs} ms each` : '';
    lines.push(`retries: ${p.retries.attempts}${per}`);
  }
  if (p.circuitBreaker) lines.push(`circuit breaker: ${JSON.stringify(p.circuitBreaker)}`);
  if (p.outlierDetection) lines.push(`outlier detection: ${JSON.stringify(p.outlierDetection)}`);
  if (p.mtls) lines.push(`mTLS: ${p.mtls}`);
  const fault = faultText(p.fault);
  if (fault) lines.push(`fault: ${fault}`);
  return lines;
}
