/**
 * Checks that route backends and mirrors name things that exist: the service (in the file), the
 * port on it, and the subset on it. Runs once all services are normalized.
 */

import { type Data, list, record } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import { type Backend, type Service, serviceKey } from './model.js';
import { isRouted } from './normalize-service.js';

export interface ReferenceScope {
  /** Each service by `serviceKey`, the first one declared when names repeat. */
  readonly byKey: ReadonlyMap<string, Service>;
  /** Services whose ports, or subsets, have schema errors: those are not checked against. */
  readonly invalidPorts: ReadonlySet<Service>;
  readonly invalidSubsets: ReadonlySet<Service>;
}

export function checkReferences(
  service: Service,
  path: FieldPath,
  /** The service's routes as written, to point at the field a backend named its target in. */
  raw: readonly unknown[],
  scope: ReferenceScope,
): Issue[] {
  const issues: Issue[] = [];
  service.routes.forEach((route, j) => {
    route.backends.forEach((backend, k) => {
      const at = [...path, 'routes', j, 'backends', k];
      const given = record(list(record(raw[j]).backends)[k]);
      issues.push(...checkTarget(service, backend, at, given, scope));
    });
    if (route.mirror !== undefined) {
      const at = [...path, 'routes', j, 'mirror'];
      issues.push(...checkTarget(service, route.mirror, at, record(record(raw[j]).mirror), scope));
    }
  });
  return issues;
}

/** A route's backend or mirror. */
type Target = Pick<Backend, 'service' | 'namespace' | 'port' | 'subset'>;

function checkTarget(
  owner: Service,
  backend: Target,
  at: FieldPath,
  given: Data,
  scope: ReferenceScope,
): Issue[] {
  const target = scope.byKey.get(serviceKey(backend.service, backend.namespace));
  if (target === undefined) {
    const field =
      given.service !== undefined
        ? 'service'
        : given.namespace !== undefined
          ? 'namespace'
          : undefined;
    return [
      {
        path: field !== undefined ? [...at, field] : at,
        message: `there is no service '${backend.service}' in namespace '${backend.namespace}'`,
      },
    ];
  }
  const issues: Issue[] = [];
  if (!scope.invalidPorts.has(target) && !scope.invalidPorts.has(owner)) {
    issues.push(...checkPort(owner, target, backend, at));
  }
  if (
    backend.subset !== undefined &&
    !scope.invalidSubsets.has(target) &&
    !target.subsets.some((s) => s.name === backend.subset)
  ) {
    const subsets = target.subsets.map((s) => s.name);
    issues.push({
      path: [...at, 'subset'],
      kind: 'unknown-subset',
      message: `service '${target.name}' has no subset '${backend.subset}' (${
        subsets.length > 0 ? `its subsets: ${subsets.join(', ')}` : 'it has no subsets'
      })`,
    });
  }
  return issues;
}

function checkPort(owner: Service, target: Service, backend: Target, at: FieldPath): Issue[] {
  const issues: Issue[] = [];
  const ports = target.ports.map((p) => p.port).join(', ');
  if (backend.port !== undefined) {
    const port = target.ports.find((p) => p.port === backend.port);
    if (port === undefined) {
      issues.push({
        path: [...at, 'port'],
        message: `service '${target.name}' has no port ${backend.port} (its ports: ${ports})`,
      });
    } else if (!isRouted(port)) {
      issues.push({
        path: [...at, 'port'],
        message: `port ${port.port} of service '${target.name}' is tcp; routes send only to http, http2 and grpc ports`,
      });
    }
  } else if (target !== owner) {
    // Without a port, the request keeps the port it came in on; the target must have it.
    const missing = owner.ports
      .filter((p) => isRouted(p) && !target.ports.some((t) => t.port === p.port))
      .map((p) => p.port);
    if (missing.length > 0) {
      issues.push({
        path: at,
        message: `service '${target.name}' has no port ${missing.join(', ')} (its ports: ${ports}); set port`,
      });
    }
  }
  return issues;
}
