/**
 * A list of Gateway API resources (the mesh file's `gatewayApi:`, or objects from the
 * Kubernetes API) into a GatewayApiConfig, with every problem found, each at its path.
 */

import { list, record, str } from '../parsed-data/index.js';
import type { GatewayApiIssue } from './issue.js';
import type {
  GatewayApiConfig,
  GatewayApiKind,
  GatewayApiResource,
  ReferenceGrant,
  StreamRoute,
} from './model.js';
import { normalizeGateway, normalizeGatewayClass } from './normalize-gateway.js';
import { normalizeHttpRoute } from './normalize-http-route.js';
import { type Path, readBackendRef, readMeta, readParentRef } from './normalize-refs.js';

export interface NormalizedResources {
  readonly config: GatewayApiConfig;
  readonly issues: readonly GatewayApiIssue[];
}

const KINDS: readonly GatewayApiKind[] = [
  'GatewayClass',
  'Gateway',
  'HTTPRoute',
  'GRPCRoute',
  'TLSRoute',
  'TCPRoute',
  'ReferenceGrant',
];

/** One resource; undefined when its kind is not a Gateway API kind (the schema says so). */
export function normalizeResource(
  raw: unknown,
  path: Path,
  issues: GatewayApiIssue[],
): GatewayApiResource | undefined {
  const r = record(raw);
  const kind = KINDS.find((k) => k === r.kind);
  if (kind === undefined) return undefined;
  const meta = readMeta(r.metadata, kind === 'GatewayClass');
  const at = [...path, 'spec'];
  switch (kind) {
    case 'GatewayClass':
      return normalizeGatewayClass(meta, r.spec);
    case 'Gateway':
      return normalizeGateway(meta, r.spec, at, issues);
    case 'HTTPRoute':
    case 'GRPCRoute':
      return normalizeHttpRoute(kind, meta, r.spec, at, issues);
    case 'TLSRoute':
    case 'TCPRoute': {
      const s = record(r.spec);
      const route: StreamRoute = {
        kind,
        metadata: meta,
        parentRefs: list(s.parentRefs).map((p) => readParentRef(p, meta)),
        hostnames: list(s.hostnames).filter((h): h is string => typeof h === 'string'),
        rules: list(s.rules).map((rule, i) => ({
          backendRefs: list(record(rule).backendRefs).map((b, j) =>
            readBackendRef(b, meta, [...at, 'rules', i, 'backendRefs', j], issues),
          ),
        })),
      };
      if (kind === 'TCPRoute' && route.rules.length > 1) {
        // Nothing in a TCP connection tells rules apart.
        issues.push({ path: [...at, 'rules'], message: 'a TCPRoute has one rule in Ferry' });
      }
      return route;
    }
    case 'ReferenceGrant': {
      const s = record(r.spec);
      const grant: ReferenceGrant = {
        kind,
        metadata: meta,
        from: list(s.from).map((f) => {
          const o = record(f);
          return {
            group: str(o.group) ?? '',
            kind: str(o.kind) ?? '',
            namespace: str(o.namespace) ?? '',
          };
        }),
        to: list(s.to).map((t) => {
          const o = record(t);
          const name = str(o.name);
          return {
            group: str(o.group) ?? '',
            kind: str(o.kind) ?? '',
            ...(name !== undefined ? { name } : {}),
          };
        }),
      };
      return grant;
    }
  }
}

/** A list of resources; `path` is where the list is (e.g. ['gatewayApi']). */
export function normalizeResources(raw: readonly unknown[], path: Path): NormalizedResources {
  const issues: GatewayApiIssue[] = [];
  const seen = new Map<string, number>();
  const config = {
    gatewayClasses: [] as GatewayApiConfig['gatewayClasses'][number][],
    gateways: [] as GatewayApiConfig['gateways'][number][],
    routes: [] as GatewayApiConfig['routes'][number][],
    referenceGrants: [] as ReferenceGrant[],
  };
  raw.forEach((item, i) => {
    const resource = normalizeResource(item, [...path, i], issues);
    if (resource === undefined) return;
    const { namespace, name } = resource.metadata;
    const key = `${resource.kind}/${namespace}/${name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      issues.push({
        path: [...path, i, 'metadata', 'name'],
        message: `duplicate ${resource.kind} '${name}' in namespace '${namespace}'; see item ${first}`,
      });
      return;
    }
    seen.set(key, i);
    switch (resource.kind) {
      case 'GatewayClass':
        config.gatewayClasses.push(resource);
        break;
      case 'Gateway':
        config.gateways.push(resource);
        break;
      case 'ReferenceGrant':
        config.referenceGrants.push(resource);
        break;
      default:
        config.routes.push(resource);
    }
  });
  return { config, issues };
}
