/**
 * Stage two of validation: what the schema cannot express (unique names, references between
 * services, regular expressions, durations), done while applying defaults. Produces the
 * MeshConfig; it is only used when no issue was found in either stage.
 */

import { list, oneOf, record, str } from '../parsed-data/index.js';
import { checkReferences } from './check-references.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import {
  DEFAULT_DOMAIN,
  DEFAULT_TRUST_DOMAIN,
  type MeshConfig,
  type MeshSettings,
  type Service,
  serviceKey,
} from './model.js';
import { normalizeEgress } from './normalize-egress.js';
import { normalizeGatewayApi, normalizeSecrets } from './normalize-gateway-api.js';
import { MTLS_MODES } from './normalize-policy.js';
import { normalizeService } from './normalize-service.js';
import { normalizeMeshTelemetry } from './normalize-telemetry.js';

export interface NormalizeResult {
  readonly config: MeshConfig;
  readonly issues: readonly Issue[];
}

/**
 * `schemaErrorPaths`: where the schema stage found errors. Checks that would build on those
 * values (an endpoint's ports against the service's ports, a backend against another service's
 * ports or subsets) are skipped, so one mistake is reported once.
 */
export function normalizeMesh(
  data: unknown,
  schemaErrorPaths: readonly FieldPath[] = [],
): NormalizeResult {
  const root = record(data);
  const m = record(root.mesh);
  let mesh: MeshSettings = {
    trustDomain: str(m.trustDomain) ?? DEFAULT_TRUST_DOMAIN,
    domain: str(m.domain) ?? DEFAULT_DOMAIN,
    mtls: oneOf(m.mtls, MTLS_MODES) ?? 'PERMISSIVE',
  };
  const issues: Issue[] = [];
  const telemetry = normalizeMeshTelemetry(m.telemetry, ['mesh', 'telemetry'], issues);
  if (telemetry !== undefined) mesh = { ...mesh, telemetry };
  const flagged = (i: number, field: string): boolean =>
    schemaErrorPaths.some((p) => p[0] === 'services' && p[1] === i && p[2] === field);

  const rawServices = list(root.services);
  const services: Service[] = rawServices.map((raw, i) =>
    normalizeService(
      raw,
      { domain: mesh.domain, portsValid: !flagged(i, 'ports') },
      ['services', i],
      issues,
    ),
  );

  const byKey = new Map<string, Service>();
  const firstIndex = new Map<string, number>();
  services.forEach((service, i) => {
    if (service.name === '') return;
    const key = serviceKey(service.name, service.namespace);
    const first = firstIndex.get(key);
    if (first === undefined) {
      byKey.set(key, service);
      firstIndex.set(key, i);
    } else {
      issues.push({
        path: ['services', i, 'name'],
        message: `duplicate service '${service.name}' in namespace '${service.namespace}'; see services[${first}]`,
      });
    }
  });

  const scope = {
    byKey,
    invalidPorts: new Set(services.filter((_, i) => flagged(i, 'ports'))),
    invalidSubsets: new Set(services.filter((_, i) => flagged(i, 'subsets'))),
  };
  services.forEach((service, i) => {
    const rawRoutes = list(record(rawServices[i]).routes);
    issues.push(...checkReferences(service, ['services', i], rawRoutes, scope));
  });

  const config: MeshConfig = {
    mesh,
    services,
    ...normalizeGatewayApi(root.gatewayApi, issues),
    ...normalizeSecrets(root.secrets, issues),
    ...normalizeEgress(root.egress, issues),
  };
  return { config, issues };
}
