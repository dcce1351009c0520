/**
 * The fields of Envoy's RBAC filter configs the compiler reads, in the object form Ferry
 * decodes xDS into (snake_case names, enums as strings, Any as `@type`). Every field is
 * optional: proto3 leaves defaults out. Fields listed but not supported are there so the
 * compiler can name them when it refuses them.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/rbac/v3/rbac.proto
 */

import type { HeaderMatcherLike, StringMatcherLike } from '../router/index.js';

export type { HeaderMatcherLike, StringMatcherLike };

/** envoy.config.rbac.v3.Permission. */
export interface PermissionLike {
  readonly and_rules?: { readonly rules?: readonly PermissionLike[] };
  readonly or_rules?: { readonly rules?: readonly PermissionLike[] };
  readonly any?: boolean;
  readonly header?: HeaderMatcherLike;
  readonly url_path?: { readonly path?: StringMatcherLike };
  readonly destination_ip?: object;
  readonly destination_port?: number;
  readonly destination_port_range?: { readonly start?: number; readonly end?: number };
  readonly metadata?: object;
  readonly not_rule?: PermissionLike;
  readonly requested_server_name?: StringMatcherLike;
  readonly matcher?: object;
  readonly uri_template?: object;
}

/** envoy.config.rbac.v3.Principal. */
export interface PrincipalLike {
  readonly and_ids?: { readonly ids?: readonly PrincipalLike[] };
  readonly or_ids?: { readonly ids?: readonly PrincipalLike[] };
  readonly any?: boolean;
  readonly authenticated?: { readonly principal_name?: StringMatcherLike };
  readonly source_ip?: object;
  readonly direct_remote_ip?: object;
  readonly remote_ip?: object;
  readonly header?: HeaderMatcherLike;
  readonly url_path?: { readonly path?: StringMatcherLike };
  readonly metadata?: object;
  readonly filter_state?: object;
  readonly not_id?: PrincipalLike;
}

/** envoy.config.rbac.v3.Policy. */
export interface PolicyLike {
  readonly permissions?: readonly PermissionLike[];
  readonly principals?: readonly PrincipalLike[];
  readonly condition?: object;
  readonly checked_condition?: object;
}

/** envoy.config.rbac.v3.RBAC. */
export interface RbacRulesLike {
  readonly action?: string;
  readonly policies?: Readonly<Record<string, PolicyLike>>;
}

/**
 * envoy.extensions.filters.http.rbac.v3.RBAC and envoy.extensions.filters.network.rbac.v3.RBAC
 * (their common fields; shadow rules only count stats in Envoy, and are ignored here).
 */
export interface RbacFilterLike {
  readonly '@type'?: string;
  readonly rules?: RbacRulesLike;
  readonly matcher?: object;
  readonly shadow_rules?: RbacRulesLike;
  readonly shadow_matcher?: object;
  readonly enforcement_type?: string;
}
