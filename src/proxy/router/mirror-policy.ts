import type { envoy } from '../../xds/index.js';
/**
 * Request mirroring (RouteAction.request_mirror_policies), compiled once per route: which
 * cluster gets a shadow copy of the route's requests, for what share of them, and whether the
 * shadow's authority gets Envoy's `-shadow` suffix.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routeaction-requestmirrorpolicy
 */

export interface MirrorPolicy {
  /** The shadow cluster; '' when `clusterHeader` names it per request. */
  readonly cluster: string;
  /** The lower-cased request header naming the shadow cluster, when it is chosen per request. */
  readonly clusterHeader: string | undefined;
  /** The share mirrored, `numerator` out of `denominator` (a numerator ≥ denominator is all). */
  readonly numerator: number;
  readonly denominator: number;
  /** Append `-shadow` to the shadow's host (unless disable_shadow_host_suffix_append). */
  readonly suffixHost: boolean;
}

/** FractionalPercent.DenominatorType by name; by number it is the index. */
const DENOMINATORS = ['HUNDRED', 'TEN_THOUSAND', 'MILLION'] as const;

const ALL = { numerator: 1, denominator: 1 } as const;

/** The route's mirror policies, frozen; undefined when it has none (the common case). */
export function compileMirrorPolicies(
  policies: readonly envoy.RequestMirrorPolicy[] | undefined,
  where: string,
  errors: string[],
): readonly MirrorPolicy[] | undefined {
  if (policies === undefined || policies.length === 0) return undefined;
  const compiled: MirrorPolicy[] = [];
  for (const [i, p] of policies.entries()) {
    const at = `${where}: request_mirror_policies[${i}]`;
    if (Boolean(p.cluster) === Boolean(p.cluster_header)) {
      errors.push(`${at}: needs exactly one of cluster, cluster_header`);
      continue;
    }
    // Without runtime_fraction every request is mirrored; with one, its default value decides
    // (Ferry has no runtime to override it), and proto3's zero value there means none.
    const fraction =
      p.runtime_fraction === undefined
        ? ALL
        : readFraction(p.runtime_fraction.default_value, `${at}.runtime_fraction`, errors);
    if (fraction === undefined) continue;
    compiled.push(
      Object.freeze({
        cluster: p.cluster ?? '',
        clusterHeader: p.cluster_header ? p.cluster_header.toLowerCase() : undefined,
        numerator: fraction.numerator,
        denominator: fraction.denominator,
        suffixHost: p.disable_shadow_host_suffix_append !== true,
      }),
    );
  }
  return Object.freeze(compiled);
}

function readFraction(
  f: envoy.FractionalPercent | undefined,
  at: string,
  errors: string[],
): { numerator: number; denominator: number } | undefined {
  const numerator = f?.numerator ?? 0;
  const d = f?.denominator ?? 'HUNDRED';
  const index = typeof d === 'number' ? d : DENOMINATORS.indexOf(d);
  if (!Number.isInteger(numerator) || numerator < 0) {
    errors.push(`${at}: numerator must be a whole number >= 0, not ${numerator}`);
    return undefined;
  }
  if (!(Number.isInteger(index) && index >= 0 && index < DENOMINATORS.length)) {
    errors.push(`${at}: denominator must be HUNDRED, TEN_THOUSAND or MILLION, not ${String(d)}`);
    return undefined;
  }
  // HUNDRED, TEN_THOUSAND, MILLION: 100 to the power 1, 2, 3.
  const denominator = 100 ** (index + 1);
  return { numerator: Math.min(numerator, denominator), denominator };
}

/** Whether a request whose roll is `random` (in [0, 1)) is mirrored, as Envoy rolls it. */
export function isMirrored(p: MirrorPolicy, random: number): boolean {
  return p.numerator >= p.denominator || Math.floor(random * p.denominator) < p.numerator;
}
