/**
 * The sidecar's router: compiles an Envoy v3 RouteConfiguration once into an immutable
 * route table (swap the whole table on each RDS update) and matches requests against it.
 */
export { shadowAuthority } from './authority.js';
export { hashInput } from './hash-policy.js';
export {
  compileHeaderMatcher,
  type HeaderMatch,
  headerString,
  matchHeaderValue,
} from './header-matcher.js';
export { redirectLocation } from './local-reply.js';
export { isMirrored, type MirrorPolicy } from './mirror-policy.js';
export {
  backoffMs,
  parseRetryOn,
  RETRY_ON,
  type RetriableError,
  type RetryPolicy,
  shouldRetryError,
  shouldRetryStatus,
} from './retry-policy.js';
export {
  type ForwardRoute,
  type MatchedRoute,
  type RedirectRoute,
  type RequestHeaders,
  type RouteRequest,
  rewritePath,
} from './route.js';
export { DEFAULT_ROUTE_TIMEOUT_MS } from './route-action.js';
export { compileRouteTable, type RouteTable } from './route-table.js';
export { type SessionPolicy, sessionHostKey, writeSession } from './session-policy.js';
