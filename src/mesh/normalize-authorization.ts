/**
 * A service's authorization rules, after Istio's AuthorizationPolicy
 * (https://istio.io/latest/docs/reference/config/security/authorization-policy/), flattened
 * to one list per service: each rule has an action, `from` sources and `to` operations.
 * Principals are written as Istio writes them (`<trust domain>/ns/<ns>/sa/<account>`) and
 * kept as SPIFFE IDs; a trailing `*` makes a prefix, as in Istio.
 */

import { type Data, int, list, oneOf, record, str } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import type {
  AuthorizationAction,
  AuthorizationOperation,
  AuthorizationRule,
  AuthorizationSource,
  ExactOrPrefix,
  ServicePort,
} from './model.js';
import { UniqueNames } from './unique-names.js';

const ACTIONS: readonly AuthorizationAction[] = ['ALLOW', 'DENY'];
const SPIFFE = 'spiffe://';

export interface AuthorizationContext {
  /** The service's ports; undefined when they are invalid (port checks are then skipped). */
  readonly ports: readonly ServicePort[] | undefined;
  /** True when every port of the service is tcp: methods and paths can never match. */
  readonly onlyTcp: boolean;
}

export function normalizeAuthorization(
  raw: unknown,
  context: AuthorizationContext,
  path: FieldPath,
  issues: Issue[],
): AuthorizationRule[] {
  const names = new UniqueNames('rule name', 'authorization', issues);
  return list(raw).map((item, j) => {
    const at = [...path, j];
    const r = record(item);
    const name = str(r.name) ?? '';
    names.add(name, j, [...at, 'name']);
    return {
      name,
      // Istio's default action.
      action: oneOf(r.action, ACTIONS) ?? 'ALLOW',
      from: list(r.from).map((s) => readSource(record(s))),
      to: list(r.to).map((o, k) => readOperation(record(o), context, [...at, 'to', k], issues)),
    };
  });
}

/** `*` alone is any value; a trailing `*` a prefix; anything else the exact value. */
function exactOrPrefix(value: string, prefixFor = (v: string) => v): ExactOrPrefix {
  if (value.endsWith('*')) return { prefix: prefixFor(value.slice(0, -1)) };
  return { exact: prefixFor(value) };
}

/** Istio's principal form, or a SPIFFE ID as is. */
function spiffe(principal: string): string {
  return principal.startsWith(SPIFFE) ? principal : SPIFFE + principal;
}

function strings(v: unknown): string[] {
  return list(v).filter((x): x is string => typeof x === 'string');
}

function readSource(s: Data): AuthorizationSource {
  return {
    principals: strings(s.principals).map((p) =>
      // `*` is any authenticated peer: every SPIFFE ID starts with spiffe://.
      p === '*' ? { prefix: SPIFFE } : exactOrPrefix(p, spiffe),
    ),
    namespaces: strings(s.namespaces),
  };
}

function readOperation(
  o: Data,
  context: AuthorizationContext,
  path: FieldPath,
  issues: Issue[],
): AuthorizationOperation {
  if (context.onlyTcp) {
    for (const field of ['methods', 'paths'] as const) {
      if (o[field] !== undefined) {
        issues.push({
          path: [...path, field],
          message: `${field} apply to http, http2 and grpc ports, and this service has only tcp ports`,
        });
      }
    }
  }
  const ports = list(o.ports)
    .map(int)
    .filter((p): p is number => p !== undefined);
  if (context.ports !== undefined) {
    const known = context.ports.map((p) => p.port);
    ports.forEach((port, k) => {
      if (!known.includes(port)) {
        issues.push({
          path: [...path, 'ports', k],
          message: `${port} is not a port of the service (its ports: ${known.join(', ')})`,
        });
      }
    });
  }
  return {
    methods: strings(o.methods).map((m) => m.toUpperCase()),
    paths: strings(o.paths).map((p) => (p === '*' ? { prefix: '/' } : exactOrPrefix(p))),
    ports,
  };
}
