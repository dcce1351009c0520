/**
 * Route actions that forward (envoy.config.route.v3.RouteAction), compiled once into an
 * immutable ForwardRoute: cluster choice with precomputed cumulative weights, timeouts in
 * ms, retry policy, hashing and rewrites.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routeaction
 */
import type { envoy } from '../../xds/index.js';
import { readDurationMs } from './duration.js';
import { compileHashPolicies, type HashPolicy } from './hash-policy.js';
import { compileHeaderMutation, type HeaderLevel, type HeaderMutation } from './header-mutation.js';
import { compileMirrorPolicies, type MirrorPolicy } from './mirror-policy.js';
import type { PathMatch } from './path-matcher.js';
import { compilePathRewrite, type PathRewrite } from './path-rewrite.js';
import type { RetryPolicy } from './retry-policy.js';
import { compileRetryPolicy } from './retry-policy.js';
import type { ForwardRoute, RouteRequest } from './route.js';
import {
  compileSessionPolicy,
  type SessionPolicy,
  STATEFUL_SESSION_FILTER,
} from './session-policy.js';

/**
 * RouteAction.cluster_not_found_response_code: what a request is answered when the cluster
 * picked does not exist (Envoy: 503 unless set; Gateway implementations set 500 for the
 * share of a weighted split that goes to an invalid backend).
 */
const CLUSTER_NOT_FOUND_STATUS: Readonly<Record<string, number>> = {
  SERVICE_UNAVAILABLE: 503,
  '0': 503,
  NOT_FOUND: 404,
  '1': 404,
  INTERNAL_SERVER_ERROR: 500,
  '2': 500,
};

function clusterNotFoundStatus(code: unknown, where: string, errors: string[]): number | undefined {
  if (code === undefined || code === null) return 503;
  const status = CLUSTER_NOT_FOUND_STATUS[String(code)];
  if (status === undefined)
    errors.push(`${where}: cluster_not_found_response_code ${String(code)} is not known`);
  return status;
}

/** Envoy's route timeout when RouteAction.timeout is unset. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

type ClusterKind = 'single' | 'weighted' | 'header';

interface ForwardRouteInit {
  readonly name: string;
  readonly virtualHost: string;
  readonly clusterKind: ClusterKind;
  /** The cluster ('single'), or the lower-cased header naming it ('header'). */
  readonly cluster: string;
  readonly weightedNames: readonly string[];
  /** Running sums of the weights, parallel to weightedNames. */
  readonly cumulative: readonly number[];
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly clusterNotFoundStatus: number;
  readonly prefixRewrite: string | undefined;
  readonly matchedPrefix: string | undefined;
  readonly hostRewrite: string | undefined;
  readonly hashPolicies: readonly HashPolicy[];
  readonly pathRewrite: PathRewrite | undefined;
  readonly mirrors: readonly MirrorPolicy[] | undefined;
  readonly perFilterConfig: Readonly<Record<string, object>> | undefined;
  readonly requestHeaders: HeaderMutation | undefined;
  readonly responseHeaders: HeaderMutation | undefined;
  readonly session: SessionPolicy | undefined;
}

class CompiledForwardRoute implements ForwardRoute {
  readonly kind = 'forward' as const;
  readonly perFilterConfig: Readonly<Record<string, object>> | undefined;
  readonly name: string;
  readonly virtualHost: string;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly clusterNotFoundStatus: number;
  readonly prefixRewrite: string | undefined;
  readonly matchedPrefix: string | undefined;
  readonly hostRewrite: string | undefined;
  readonly hashPolicies: readonly HashPolicy[];
  readonly pathRewrite: PathRewrite | undefined;
  readonly mirrors: readonly MirrorPolicy[] | undefined;
  readonly requestHeaders: HeaderMutation | undefined;
  readonly responseHeaders: HeaderMutation | undefined;
  readonly session: SessionPolicy | undefined;
  readonly weightedClusters: readonly string[];
  private readonly clusterKind: ClusterKind;
  private readonly cluster: string;
  private readonly weightedNames: readonly string[];
  private readonly cumulative: readonly number[];
  private readonly totalWeight: number;

  constructor(init: ForwardRouteInit) {
    this.name = init.name;
    this.virtualHost = init.virtualHost;
    this.perFilterConfig = init.perFilterConfig;
    this.timeoutMs = init.timeoutMs;
    this.idleTimeoutMs = init.idleTimeoutMs;
    this.retry = init.retry;
    this.clusterNotFoundStatus = init.clusterNotFoundStatus;
    this.prefixRewrite = init.prefixRewrite;
    this.matchedPrefix = init.matchedPrefix;
    this.hostRewrite = init.hostRewrite;
    this.hashPolicies = init.hashPolicies;
    this.pathRewrite = init.pathRewrite;
    this.mirrors = init.mirrors;
    this.requestHeaders = init.requestHeaders;
    this.responseHeaders = init.responseHeaders;
    this.session = init.session;
    this.clusterKind = init.clusterKind;
    this.cluster = init.cluster;
    this.weightedNames = init.weightedNames;
    this.weightedClusters = init.weightedNames;
    this.cumulative = init.cumulative;
    this.totalWeight = init.cumulative.length ? init.cumulative[init.cumulative.length - 1]! : 0;
    Object.freeze(this);
  }

  pickCluster(random: number, req: RouteRequest): string | undefined {
    switch (this.clusterKind) {
      case 'single':
        return this.cluster;
      case 'weighted': {
        // As Envoy: a value in [0, total) against running sums; zero weights are never hit.
        let r = Math.floor(random * this.totalWeight);
        if (!(r >= 0)) r = 0;
        else if (r >= this.totalWeight) r = this.totalWeight - 1;
        const c = this.cumulative;
        for (let i = 0; i < c.length; i++) if (r < c[i]!) return this.weightedNames[i];
        return this.weightedNames[this.weightedNames.length - 1];
      }
      case 'header': {
        const v = req.headers[this.cluster];
        const name = typeof v === 'string' ? v : v?.[0];
        return name ? name : undefined;
      }
    }
  }
}

interface ClusterChoice {
  readonly kind: ClusterKind;
  readonly cluster: string;
  readonly names: readonly string[];
  readonly cumulative: readonly number[];
}

function clusterChoice(
  a: envoy.RouteAction,
  where: string,
  errors: string[],
): ClusterChoice | undefined {
  if (a.cluster_specifier_plugin !== undefined) {
    errors.push(`${where}: cluster_specifier_plugin is not supported`);
    return undefined;
  }
  const set = [a.cluster, a.cluster_header, a.weighted_clusters].filter((x) => x !== undefined);
  if (set.length !== 1) {
    errors.push(
      `${where}: route action must set exactly one of cluster, cluster_header, weighted_clusters`,
    );
    return undefined;
  }
  if (a.cluster !== undefined) {
    if (a.cluster === '') errors.push(`${where}: cluster name is empty`);
    return { kind: 'single', cluster: a.cluster, names: [], cumulative: [] };
  }
  if (a.cluster_header !== undefined) {
    if (a.cluster_header === '') errors.push(`${where}: cluster_header is empty`);
    return { kind: 'header', cluster: a.cluster_header.toLowerCase(), names: [], cumulative: [] };
  }
  const names: string[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const [i, c] of (a.weighted_clusters?.clusters ?? []).entries()) {
    // Weight absent or `{}`: 0, as Envoy reads the wrapper.
    const w = c.weight?.value ?? 0;
    if (!c.name) errors.push(`${where}: weighted_clusters.clusters[${i}] has no name`);
    if (!Number.isInteger(w) || w < 0) {
      errors.push(
        `${where}: weighted_clusters.clusters[${i}] weight must be a non-negative integer`,
      );
      continue;
    }
    total += w;
    names.push(c.name ?? '');
    cumulative.push(total);
  }
  if (names.length === 0) errors.push(`${where}: weighted_clusters has no clusters`);
  else if (total === 0) errors.push(`${where}: weighted_clusters weights add up to 0`);
  return { kind: 'weighted', cluster: '', names, cumulative };
}

/**
 * Compiles a RouteAction into a ForwardRoute. `vhostRetry` is the virtual host's policy,
 * used only when the route has none (Envoy does not merge the two).
 */
export function compileForwardRoute(
  a: envoy.RouteAction,
  name: string,
  virtualHost: string,
  match: PathMatch,
  vhostRetry: RetryPolicy | undefined,
  where: string,
  errors: string[],
  perFilterConfig?: Readonly<Record<string, object>>,
  /** The route's, its virtual host's and its configuration's header modifiers. */
  headers?: {
    readonly request: readonly HeaderLevel[];
    readonly response: readonly HeaderLevel[];
  },
): ForwardRoute | undefined {
  const before = errors.length;
  const choice = clusterChoice(a, where, errors);
  const timeoutMs = readDurationMs(
    a.timeout,
    DEFAULT_ROUTE_TIMEOUT_MS,
    `${where}: timeout`,
    errors,
  );
  const idleTimeoutMs = readDurationMs(a.idle_timeout, undefined, `${where}: idle_timeout`, errors);
  const retry =
    a.retry_policy === undefined
      ? vhostRetry
      : compileRetryPolicy(a.retry_policy, `${where}: retry_policy`, errors);
  const notFound = clusterNotFoundStatus(a.cluster_not_found_response_code, where, errors);
  const hashPolicies = compileHashPolicies(a.hash_policy, where, errors);
  const mirrors = compileMirrorPolicies(a.request_mirror_policies, where, errors);
  const rewrite = compilePathRewrite(match, a.prefix_rewrite, a.regex_rewrite);
  if (!rewrite.ok) errors.push(`${where}: ${rewrite.error}`);
  const requestHeaders = compileHeaderMutation(headers?.request ?? [], where, errors);
  const responseHeaders = compileHeaderMutation(headers?.response ?? [], where, errors);
  const session = compileSessionPolicy(perFilterConfig?.[STATEFUL_SESSION_FILTER], where, errors);
  if (errors.length > before || !choice || !rewrite.ok) return undefined;
  const byPrefix = match.kind === 'prefix' || match.kind === 'separated-prefix';
  return new CompiledForwardRoute({
    perFilterConfig:
      perFilterConfig && Object.keys(perFilterConfig).length > 0 ? perFilterConfig : undefined,
    name,
    virtualHost,
    clusterKind: choice.kind,
    cluster: choice.cluster,
    weightedNames: Object.freeze(choice.names),
    cumulative: Object.freeze(choice.cumulative),
    timeoutMs: timeoutMs!,
    idleTimeoutMs,
    retry,
    clusterNotFoundStatus: notFound!,
    prefixRewrite: a.prefix_rewrite ? a.prefix_rewrite : undefined,
    matchedPrefix: byPrefix ? match.value : undefined,
    hostRewrite: a.host_rewrite_literal ? a.host_rewrite_literal : undefined,
    hashPolicies,
    pathRewrite: rewrite.rewrite,
    mirrors,
    requestHeaders,
    responseHeaders,
    session,
  });
}
