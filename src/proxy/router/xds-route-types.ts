/**
 * The fields of envoy.config.route.v3.RouteConfiguration the router reads, in the object
 * form Ferry decodes xDS into (snake_case field names, enums as strings, Durations as
 * `{ seconds, nanos }`, wrappers as `{ value }`, bytes as base64). Every field is optional:
 * proto3 leaves defaults out, and the compiler treats absent and default alike.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route.proto
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto
 */

export interface DurationLike {
  readonly seconds?: number | string;
  readonly nanos?: number;
}

export interface UInt32ValueLike {
  readonly value?: number;
}

export interface BoolValueLike {
  readonly value?: boolean;
}

/** envoy.type.matcher.v3.RegexMatcher (only the RE2 engine exists; its options are ignored). */
export interface RegexMatcherLike {
  readonly regex?: string;
}

/** envoy.type.matcher.v3.StringMatcher. */
export interface StringMatcherLike {
  readonly exact?: string;
  readonly prefix?: string;
  readonly suffix?: string;
  readonly contains?: string;
  readonly safe_regex?: RegexMatcherLike;
  readonly ignore_case?: boolean;
}

/** envoy.type.v3.Int64Range: start inclusive, end exclusive. */
export interface Int64RangeLike {
  readonly start?: number | string;
  readonly end?: number | string;
}

/** envoy.config.route.v3.HeaderMatcher, with the legacy `*_match` specifiers. */
export interface HeaderMatcherLike {
  readonly name?: string;
  readonly string_match?: StringMatcherLike;
  readonly present_match?: boolean;
  readonly exact_match?: string;
  readonly prefix_match?: string;
  readonly suffix_match?: string;
  readonly contains_match?: string;
  readonly safe_regex_match?: RegexMatcherLike;
  readonly range_match?: Int64RangeLike;
  readonly invert_match?: boolean;
  readonly treat_missing_header_as_empty?: boolean;
}

/** envoy.config.route.v3.QueryParameterMatcher. */
export interface QueryParameterMatcherLike {
  readonly name?: string;
  readonly string_match?: StringMatcherLike;
  readonly present_match?: boolean;
}

/** envoy.config.route.v3.RouteMatch. Fields the router cannot honour are listed to reject them. */
export interface RouteMatchLike {
  readonly prefix?: string;
  readonly path?: string;
  readonly safe_regex?: RegexMatcherLike;
  readonly path_separated_prefix?: string;
  readonly connect_matcher?: object;
  readonly path_match_policy?: object;
  readonly case_sensitive?: BoolValueLike;
  readonly headers?: readonly HeaderMatcherLike[];
  readonly query_parameters?: readonly QueryParameterMatcherLike[];
  readonly grpc?: object;
  readonly runtime_fraction?: object;
  readonly tls_context?: object;
  readonly dynamic_metadata?: readonly object[];
  readonly filter_state?: readonly object[];
}

/** envoy.config.route.v3.RetryPolicy.RetryBackOff. */
export interface RetryBackOffLike {
  readonly base_interval?: DurationLike;
  readonly max_interval?: DurationLike;
}

/** envoy.config.route.v3.RetryPolicy. */
export interface RetryPolicyLike {
  readonly retry_on?: string;
  readonly num_retries?: UInt32ValueLike;
  readonly per_try_timeout?: DurationLike;
  readonly retry_back_off?: RetryBackOffLike;
  readonly retriable_status_codes?: readonly number[];
  readonly retriable_headers?: readonly HeaderMatcherLike[];
  readonly host_selection_retry_max_attempts?: number | string;
}

/** envoy.config.route.v3.RouteAction.HashPolicy. */
export interface HashPolicyLike {
  readonly header?: { readonly header_name?: string };
  readonly cookie?: { readonly name?: string; readonly ttl?: DurationLike; readonly path?: string };
  readonly connection_properties?: { readonly source_ip?: boolean };
  readonly query_parameter?: { readonly name?: string };
  readonly filter_state?: object;
  readonly terminal?: boolean;
}

/** envoy.config.route.v3.WeightedCluster.ClusterWeight. */
export interface ClusterWeightLike {
  readonly name?: string;
  readonly weight?: UInt32ValueLike;
}

/** envoy.type.matcher.v3.RegexMatchAndSubstitute. */
export interface RegexMatchAndSubstituteLike {
  readonly pattern?: RegexMatcherLike;
  readonly substitution?: string;
}

/** envoy.type.v3.FractionalPercent: denominator HUNDRED (default), TEN_THOUSAND or MILLION. */
export interface FractionalPercentLike {
  readonly numerator?: number;
  readonly denominator?: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION' | 0 | 1 | 2;
}

/** envoy.config.route.v3.RouteAction.RequestMirrorPolicy. */
export interface RequestMirrorPolicyLike {
  readonly cluster?: string;
  readonly cluster_header?: string;
  /** Absent: every request; only its default_value is read (Ferry has no runtime). */
  readonly runtime_fraction?: { readonly default_value?: FractionalPercentLike };
  readonly trace_sampled?: BoolValueLike;
  readonly disable_shadow_host_suffix_append?: boolean;
}

/** envoy.config.route.v3.RouteAction. */
export interface RouteActionLike {
  readonly cluster?: string;
  readonly cluster_header?: string;
  readonly weighted_clusters?: { readonly clusters?: readonly ClusterWeightLike[] };
  readonly cluster_specifier_plugin?: string;
  readonly prefix_rewrite?: string;
  readonly regex_rewrite?: RegexMatchAndSubstituteLike;
  readonly host_rewrite_literal?: string;
  readonly timeout?: DurationLike;
  readonly idle_timeout?: DurationLike;
  readonly retry_policy?: RetryPolicyLike;
  readonly hash_policy?: readonly HashPolicyLike[];
  readonly request_mirror_policies?: readonly RequestMirrorPolicyLike[];
}

/** envoy.config.core.v3.DataSource (inline forms only: compiling reads no files). */
export interface DataSourceLike {
  readonly inline_string?: string;
  /** base64, as protobufjs renders bytes. */
  readonly inline_bytes?: string;
  readonly filename?: string;
  readonly environment_variable?: string;
}

/** envoy.config.route.v3.DirectResponseAction. */
export interface DirectResponseActionLike {
  readonly status?: number;
  readonly body?: DataSourceLike;
}

/** envoy.config.route.v3.RedirectAction. */
export interface RedirectActionLike {
  readonly https_redirect?: boolean;
  readonly scheme_redirect?: string;
  readonly host_redirect?: string;
  readonly port_redirect?: number;
  readonly path_redirect?: string;
  readonly prefix_rewrite?: string;
  readonly regex_rewrite?: RegexMatchAndSubstituteLike;
  /** RedirectResponseCode by name; MOVED_PERMANENTLY (301) when absent. */
  readonly response_code?: string | number;
  readonly strip_query?: boolean;
}

/** envoy.config.route.v3.Route. */
export interface RouteLike {
  readonly name?: string;
  readonly match?: RouteMatchLike;
  readonly route?: RouteActionLike;
  readonly redirect?: RedirectActionLike;
  readonly direct_response?: DirectResponseActionLike;
  readonly filter_action?: object;
  readonly non_forwarding_action?: object;
  /** Per-filter settings of the route (fault injection, rate limits...), by filter name. */
  readonly typed_per_filter_config?: Readonly<Record<string, object>>;
}

/** envoy.config.route.v3.VirtualHost. */
export interface VirtualHostLike {
  readonly name?: string;
  readonly domains?: readonly string[];
  readonly routes?: readonly RouteLike[];
  readonly retry_policy?: RetryPolicyLike;
}

/** envoy.config.route.v3.RouteConfiguration. */
export interface RouteConfigurationLike {
  readonly name?: string;
  readonly virtual_hosts?: readonly VirtualHostLike[];
  readonly ignore_port_in_host_matching?: boolean;
}
