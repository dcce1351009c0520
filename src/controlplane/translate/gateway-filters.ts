/**
 * HTTPRoute filters as Envoy route fields: header modifiers as request/response
 * headers_to_add/remove, RequestRedirect as a RedirectAction, URLRewrite as prefix_rewrite /
 * regex_rewrite / host_rewrite_literal, RequestMirror as request_mirror_policies.
 * https://gateway-api.sigs.k8s.io/reference/spec/#httproutefilter
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto
 */
import {
  effectivePrefix,
  type HeaderModifier,
  type HttpRouteFilter,
  type HttpRouteMatch,
  type PathModifier,
} from '../../gatewayapi/index.js';
import type { Message } from './resources.js';

/** RE2 escapes for a literal path. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

function headerOptions(m: HeaderModifier): Message[] {
  return [
    ...m.set.map((h) => ({
      header: { key: h.name, value: h.value },
      append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
    })),
    ...m.add.map((h) => ({
      header: { key: h.name, value: h.value },
      append_action: 'APPEND_IF_EXISTS_OR_ADD',
    })),
  ];
}

/** The route-level header fields of a rule's modifiers. */
export function headerModifierFields(filters: readonly HttpRouteFilter[]): Message {
  const out: Message = {};
  for (const f of filters) {
    if (f.type !== 'RequestHeaderModifier' && f.type !== 'ResponseHeaderModifier') continue;
    const side = f.type === 'RequestHeaderModifier' ? 'request' : 'response';
    const add = headerOptions(f.modifier);
    if (add.length > 0) out[`${side}_headers_to_add`] = add;
    if (f.modifier.remove.length > 0) out[`${side}_headers_to_remove`] = [...f.modifier.remove];
  }
  return out;
}

/**
 * A path modifier as Envoy rewrite fields. ReplacePrefixMatch swaps the matched prefix
 * (whole path segments: `/foo` in `/foo/bar`), and a `/` replacement leaves one slash, not
 * two; ReplaceFullPath replaces the whole path (the query string stays, as Envoy keeps it).
 */
export function pathRewriteFields(path: PathModifier, match: HttpRouteMatch): Message {
  if (path.type === 'ReplaceFullPath') {
    return { regex_rewrite: { pattern: { regex: '^/.*$' }, substitution: path.replaceFullPath } };
  }
  const prefix = effectivePrefix(match.path.value);
  const replacement = path.replacePrefixMatch;
  if (prefix !== '/' && replacement !== '/' && !replacement.endsWith('/')) {
    return { prefix_rewrite: replacement };
  }
  const trimmed = replacement.replace(/\/+$/, '');
  if (prefix === '/') {
    return { regex_rewrite: { pattern: { regex: '^/' }, substitution: `${trimmed}/` } };
  }
  return {
    regex_rewrite: {
      pattern: { regex: `^${escapeRegex(prefix)}/*` },
      substitution: trimmed === '' ? '/' : `${trimmed}/`,
    },
  };
}

const WELL_KNOWN_PORT: Record<string, number> = { http: 80, https: 443 };

/**
 * A RequestRedirect as Envoy's RedirectAction. The port, when the filter does not say, is
 * the well-known port of a scheme it names, else the listener's port (the spec's rule).
 */
export function redirectAction(
  f: Extract<HttpRouteFilter, { type: 'RequestRedirect' }>,
  match: HttpRouteMatch,
  listenerPort: number,
): Message {
  const port = f.port ?? (f.scheme ? WELL_KNOWN_PORT[f.scheme] : listenerPort);
  return {
    ...(f.scheme ? { scheme_redirect: f.scheme } : {}),
    ...(f.hostname ? { host_redirect: f.hostname } : {}),
    port_redirect: port,
    ...(f.path?.type === 'ReplaceFullPath' ? { path_redirect: f.path.replaceFullPath } : {}),
    ...(f.path?.type === 'ReplacePrefixMatch' ? pathRewriteFields(f.path, match) : {}),
    response_code: f.statusCode === 301 ? 'MOVED_PERMANENTLY' : 'FOUND',
  };
}

/** What a rule does besides its filters: forward (a RouteAction) or answer itself. */
export type RuleForward = { readonly route: Message } | { readonly direct_response: Message };

/** 500, as the spec asks when a rule has no backend that can take its request. */
export const NO_BACKEND: RuleForward = { direct_response: { status: 500 } };

/**
 * The weighted_clusters entry that carries the weight of a rule's invalid backends: a cluster
 * that is never defined, with the route's cluster_not_found_response_code 500, so that share
 * of the requests is answered 500 as the spec asks ("requests that would have been sent to an
 * invalid backend MUST receive a 500", HTTPBackendRef), by Envoy's own means (as Envoy
 * Gateway's translator does). Not a name a mesh cluster can have (those are `outbound|…`).
 */
export const INVALID_BACKEND_CLUSTER = 'gateway~invalid-backend';

/**
 * A RouteAction (`cluster`, or `weighted_clusters` whose weights add up to `validWeight`)
 * with the share of `invalidWeight` answered 500 (INVALID_BACKEND_CLUSTER).
 */
export function withInvalidShare(action: Message, validWeight: number, invalidWeight: number) {
  if (invalidWeight <= 0) return action;
  const { cluster, weighted_clusters, ...rest } = action;
  const clusters =
    cluster !== undefined
      ? [{ name: cluster, weight: { value: validWeight } }]
      : ((weighted_clusters as { clusters: Message[] }).clusters ?? []);
  return {
    weighted_clusters: {
      clusters: [...clusters, { name: INVALID_BACKEND_CLUSTER, weight: { value: invalidWeight } }],
    },
    cluster_not_found_response_code: 'INTERNAL_SERVER_ERROR',
    ...rest,
  };
}

/**
 * The Envoy route fields of a rule's filters around what it forwards to, the same on a
 * gateway and on a Service (GAMMA): a RequestRedirect answers instead of forwarding (CEL
 * forbids backendRefs beside it, so `forward` is not asked for); a URLRewrite's path and
 * host rewrites go on the RouteAction; header modifiers are route fields of either.
 */
export function ruleFields(
  filters: readonly HttpRouteFilter[],
  match: HttpRouteMatch,
  port: number,
  forward: () => RuleForward,
): Message {
  const redirect = filters.find((f) => f.type === 'RequestRedirect');
  let action: Message;
  if (redirect) {
    action = { redirect: redirectAction(redirect, match, port) };
  } else {
    const target = forward();
    const rewrite = filters.find((f) => f.type === 'URLRewrite');
    action =
      'route' in target && rewrite
        ? {
            route: {
              ...target.route,
              ...(rewrite.path ? pathRewriteFields(rewrite.path, match) : {}),
              ...(rewrite.hostname ? { host_rewrite_literal: rewrite.hostname } : {}),
            },
          }
        : target;
  }
  return { ...action, ...headerModifierFields(filters) };
}

/** A mirror's share as a runtime fraction out of a million; 100% needs none. */
export function mirrorPolicy(cluster: string, percent: number): Message {
  if (percent >= 100) return { cluster };
  const numerator = Math.round(Math.max(percent, 0) * 10_000);
  return { cluster, runtime_fraction: { default_value: { numerator, denominator: 'MILLION' } } };
}
