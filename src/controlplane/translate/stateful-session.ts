/**
 * Session persistence as Envoy's stateful session filter, the way Envoy Gateway emits an
 * HTTPRoute's sessionPersistence: the connection manager carries the filter with no session
 * state of its own (it does nothing by itself), and each route with a session overrides it in
 * `typed_per_filter_config` with a StatefulSessionPerRoute: a cookie-based state (name, path,
 * ttl) or a header-based one (name). The override is wrapped in an optional FilterConfig, as
 * rate limits are (rate-limit.ts): proxyless gRPC clients, which read the same routes, ignore
 * it instead of rejecting the route configuration (gRFC A39).
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/stateful_session_filter
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/http/stateful_session/cookie/v3/cookie.proto
 */
import { isHttpRoute } from '../../gatewayapi/index.js';
import type { MeshConfig, Service, SessionAffinity } from '../../mesh/index.js';
import { durationFromMs, messageName, typed, types } from '../../xds/index.js';
import type { Message } from './resources.js';

/** The filter's name in the connection manager, which per-route configs are keyed by. */
export const STATEFUL_SESSION_FILTER_NAME = 'envoy.filters.http.stateful_session';

const STATEFUL_SESSION = messageName(types.STATEFUL_SESSION);
const PER_ROUTE = messageName(types.STATEFUL_SESSION_PER_ROUTE);
const FILTER_CONFIG = messageName(types.FILTER_CONFIG);

/** The filter for the connection manager: no session state, only per-route ones. */
export function statefulSessionFilter(): Message {
  return { name: STATEFUL_SESSION_FILTER_NAME, typed_config: typed(STATEFUL_SESSION, {}) };
}

/** The session state extension of a session: cookie-based or header-based. */
function sessionState(s: SessionAffinity): Message {
  if (s.kind === 'header') {
    return {
      name: 'envoy.http.stateful_session.header',
      typed_config: typed(messageName(types.HEADER_SESSION_STATE), { name: s.name }),
    };
  }
  return {
    name: 'envoy.http.stateful_session.cookie',
    typed_config: typed(messageName(types.COOKIE_SESSION_STATE), {
      cookie: {
        name: s.name,
        path: s.path ?? '/',
        ...(s.ttlMs !== undefined ? { ttl: durationFromMs(s.ttlMs) } : {}),
      },
    }),
  };
}

/** A route's `typed_per_filter_config` entry for its session, or nothing without one. */
export function sessionPerFilterConfig(session: SessionAffinity | undefined): Message {
  if (session === undefined) return {};
  return {
    [STATEFUL_SESSION_FILTER_NAME]: typed(FILTER_CONFIG, {
      config: typed(PER_ROUTE, {
        stateful_session: { session_state: sessionState(session) },
      }),
      is_optional: true,
    }),
  };
}

/** Whether any route of these services keeps sessions. */
export function anySession(services: readonly Service[]): boolean {
  return services.some((s) => s.routes.some((r) => r.session !== undefined));
}

/**
 * Whether any route of the mesh may keep sessions: a mesh route, or a rule of a Gateway API
 * route (GAMMA routes become mesh routes only in translateMesh; read unresolved here, so a
 * sidecar's listener does not pay for resolving the Gateway API).
 */
export function meshKeepsSessions(config: MeshConfig): boolean {
  return (
    anySession(config.services) ||
    (config.gatewayApi?.routes ?? []).some(
      (r) => isHttpRoute(r) && r.rules.some((rule) => rule.sessionPersistence !== undefined),
    )
  );
}
