/**
 * A chain of RBAC filters (as Istio emits them: a DENY filter, then an ALLOW filter) compiled
 * once into an engine that decides a request without allocating: every decision it can
 * return is built at compile time.
 *
 * Semantics, as Envoy's RBAC filters: a DENY filter refuses a request that matches one of its
 * policies; an ALLOW filter refuses a request that matches none of its policies; a LOG filter
 * or one without `rules` enforces nothing. Filters run in order and the first refusal wins,
 * so with Istio's order DENY wins over ALLOW. Within a filter, policies are tried in
 * lexicographic order of their names (Envoy's), and a policy matches when one of its
 * permissions and one of its principals match.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/rbac_filter
 */
import type { envoy } from '../../xds/index.js';
import { RbacConfigError } from './rbac-error.js';
import { compilePermission, compilePrincipal, type Predicate, type RbacRequest } from './rules.js';

/**
 * The verdict. `policy` names the policy that decided: the DENY policy that matched, or the
 * ALLOW policy that let the request through; absent when a request was refused because no
 * ALLOW policy matched, or allowed because nothing applies.
 */
export interface RbacDecision {
  readonly allowed: boolean;
  readonly policy?: string;
}

interface CompiledPolicy {
  readonly name: string;
  readonly permission: Predicate;
  readonly principal: Predicate;
  /** The decision when this policy matches. */
  readonly decision: RbacDecision;
}

interface Stage {
  readonly deny: boolean;
  readonly policies: readonly CompiledPolicy[];
}

const ALLOWED: RbacDecision = Object.freeze({ allowed: true });
const NO_ALLOW_MATCHED: RbacDecision = Object.freeze({ allowed: false });

export class RbacEngine {
  /** True when no filter enforces anything: every request is allowed. */
  readonly empty: boolean;

  /** @internal Use compileRbac. */
  constructor(private readonly stages: readonly Stage[]) {
    this.empty = stages.length === 0;
  }

  evaluate(r: RbacRequest): RbacDecision {
    let verdict = ALLOWED;
    const stages = this.stages;
    for (let s = 0; s < stages.length; s++) {
      const stage = stages[s];
      const matched = firstMatch(stage.policies, r);
      if (stage.deny) {
        if (matched !== undefined) return matched.decision;
      } else {
        if (matched === undefined) return NO_ALLOW_MATCHED;
        verdict = matched.decision;
      }
    }
    return verdict;
  }

  /** The enforcing policy names, for admin output. */
  toJSON(): object {
    return this.stages.map((s) => ({
      action: s.deny ? 'DENY' : 'ALLOW',
      policies: s.policies.map((p) => p.name),
    }));
  }
}

function firstMatch(
  policies: readonly CompiledPolicy[],
  r: RbacRequest,
): CompiledPolicy | undefined {
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i];
    if (p.permission(r) && p.principal(r)) return p;
  }
  return undefined;
}

function anyOf(ps: Predicate[]): Predicate {
  if (ps.length === 1) return ps[0];
  return (r) => {
    for (let i = 0; i < ps.length; i++) if (ps[i](r)) return true;
    return false;
  };
}

function compileStage(rules: envoy.RbacRules, field: string): Stage | undefined {
  const action = rules.action ?? 'ALLOW';
  if (action === 'LOG') return undefined;
  if (action !== 'ALLOW' && action !== 'DENY') {
    throw new RbacConfigError(
      `${field}.action`,
      `${JSON.stringify(action)} is not ALLOW, DENY or LOG`,
    );
  }
  const deny = action === 'DENY';
  const raw = rules.policies ?? {};
  const names = Object.keys(raw).sort();
  const policies = names.map((name): CompiledPolicy => {
    const at = `${field}.policies[${JSON.stringify(name)}]`;
    const p = raw[name];
    if (p.condition !== undefined)
      throw new RbacConfigError(`${at}.condition`, 'is not supported by the sidecar');
    if (p.checked_condition !== undefined) {
      throw new RbacConfigError(`${at}.checked_condition`, 'is not supported by the sidecar');
    }
    const permissions = p.permissions ?? [];
    const principals = p.principals ?? [];
    if (permissions.length === 0)
      throw new RbacConfigError(`${at}.permissions`, 'must not be empty');
    if (principals.length === 0) throw new RbacConfigError(`${at}.principals`, 'must not be empty');
    return {
      name,
      permission: anyOf(permissions.map((x, i) => compilePermission(x, `${at}.permissions[${i}]`))),
      principal: anyOf(principals.map((x, i) => compilePrincipal(x, `${at}.principals[${i}]`))),
      decision: Object.freeze({ allowed: !deny, policy: name }),
    };
  });
  return { deny, policies };
}

/** The HTTP or the network RBAC filter's config: the fields compileRbac reads are the same. */
export type RbacFilter = envoy.Typed<envoy.HttpRbac | envoy.NetworkRbac>;

/**
 * Compiles RBAC filter configs (HTTP or network; their `rules` are the same message), in the
 * order they run. Throws RbacConfigError naming the first bad field, under `field` (one
 * prefix for the list, or the path of each filter).
 */
export function compileRbac(
  filters: readonly RbacFilter[],
  field: string | readonly string[] = 'rbac',
): RbacEngine {
  const stages: Stage[] = [];
  for (const [i, f] of filters.entries()) {
    const at =
      typeof field !== 'string'
        ? (field[i] ?? `rbac[${i}]`)
        : filters.length === 1
          ? field
          : `${field}[${i}]`;
    if (f.matcher !== undefined) {
      throw new RbacConfigError(`${at}.matcher`, 'is not supported by the sidecar; use rules');
    }
    // Envoy: without rules (and matcher), the filter enforces nothing.
    if (f.rules === undefined) continue;
    const stage = compileStage(f.rules, `${at}.rules`);
    if (stage) stages.push(stage);
  }
  return new RbacEngine(stages);
}
