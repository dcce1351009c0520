/**
 * Virtual host selection by the request's authority, as Envoy does it: exact domains, then
 * suffix wildcards (`*.example.com`, longest first), then prefix wildcards (`example.*`,
 * longest first), then `*`. Matching ignores case. Each tier tries the authority as sent
 * (`host:port`), then without its port. Lookups are Map gets, one per distinct wildcard
 * length, never a scan of the domains.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-virtualhost
 */
import { portStart } from './authority.js';

/** Wildcard domains of one length: the fixed part (e.g. '.example.com') to the value. */
interface Bucket<T> {
  readonly length: number;
  readonly byFixed: Map<string, T>;
}

export class VirtualHostIndex<T> {
  /** Only a '*' domain (or none): every authority gets it, with no string work at all. */
  private readonly anyOnly: boolean;

  constructor(
    private readonly exact: ReadonlyMap<string, T>,
    /** Longest first. */
    private readonly suffixes: readonly Bucket<T>[],
    /** Longest first. */
    private readonly prefixes: readonly Bucket<T>[],
    private readonly any: T | undefined,
    private readonly ignorePort: boolean,
  ) {
    this.anyOnly = exact.size === 0 && suffixes.length === 0 && prefixes.length === 0;
    Object.freeze(this);
  }

  find(authority: string): T | undefined {
    if (this.anyOnly) return this.any;
    // The common case, an exact lower-case authority, costs one Map get.
    let found = this.ignorePort ? undefined : this.exact.get(authority);
    if (found !== undefined) return found;
    let host = authority.toLowerCase();
    const p = portStart(host);
    let bare = p < 0 ? undefined : host.slice(0, p);
    if (this.ignorePort && bare !== undefined) {
      host = bare;
      bare = undefined;
    }
    found = this.exact.get(host) ?? (bare === undefined ? undefined : this.exact.get(bare));
    if (found !== undefined) return found;
    found = this.suffix(host) ?? (bare === undefined ? undefined : this.suffix(bare));
    if (found !== undefined) return found;
    found = this.prefix(host) ?? (bare === undefined ? undefined : this.prefix(bare));
    return found ?? this.any;
  }

  private suffix(host: string): T | undefined {
    const buckets = this.suffixes;
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      // The wildcard stands for at least one character.
      if (host.length <= b.length) continue;
      const v = b.byFixed.get(host.slice(host.length - b.length));
      if (v !== undefined) return v;
    }
    return undefined;
  }

  private prefix(host: string): T | undefined {
    const buckets = this.prefixes;
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      if (host.length <= b.length) continue;
      const v = b.byFixed.get(host.slice(0, b.length));
      if (v !== undefined) return v;
    }
    return undefined;
  }
}

export interface DomainOwner<T> {
  readonly name: string;
  readonly domains: readonly string[] | undefined;
  readonly value: T;
}

function addToBucket<T>(buckets: Map<number, Map<string, T>>, fixed: string, value: T): void {
  let m = buckets.get(fixed.length);
  if (!m) {
    m = new Map();
    buckets.set(fixed.length, m);
  }
  m.set(fixed, value);
}

function longestFirst<T>(buckets: Map<number, Map<string, T>>): Bucket<T>[] {
  return [...buckets.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([length, byFixed]) => ({ length, byFixed }));
}

/**
 * Indexes the domains of virtual hosts. As Envoy, it rejects a domain listed twice in one
 * route configuration, a virtual host without domains, and a '*' anywhere but at one end.
 */
export function buildVirtualHostIndex<T>(
  owners: readonly DomainOwner<T>[],
  ignorePort: boolean,
  errors: string[],
): VirtualHostIndex<T> {
  const exact = new Map<string, T>();
  const suffixes = new Map<number, Map<string, T>>();
  const prefixes = new Map<number, Map<string, T>>();
  let any: T | undefined;
  const seen = new Map<string, string>();
  for (const owner of owners) {
    const where = `virtual host ${JSON.stringify(owner.name)}`;
    if (!owner.domains || owner.domains.length === 0) {
      errors.push(`${where}: has no domains`);
      continue;
    }
    for (const raw of owner.domains) {
      const domain = String(raw).toLowerCase();
      const first = seen.get(domain);
      if (first !== undefined) {
        errors.push(
          `${where}: domain ${JSON.stringify(domain)} is already used by virtual host ${JSON.stringify(first)}`,
        );
        continue;
      }
      seen.set(domain, owner.name);
      const star = domain.indexOf('*');
      if (domain === '') errors.push(`${where}: empty domain`);
      else if (domain === '*') any = owner.value;
      else if (star < 0) exact.set(domain, owner.value);
      else if (star !== domain.lastIndexOf('*') || (star !== 0 && star !== domain.length - 1)) {
        errors.push(
          `${where}: domain ${JSON.stringify(domain)} may have one '*', only at its start or end`,
        );
      } else if (star === 0) addToBucket(suffixes, domain.slice(1), owner.value);
      else addToBucket(prefixes, domain.slice(0, -1), owner.value);
    }
  }
  return new VirtualHostIndex(
    exact,
    longestFirst(suffixes),
    longestFirst(prefixes),
    any,
    ignorePort,
  );
}
