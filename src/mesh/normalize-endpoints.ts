/** A service's endpoints from the mesh file, with a port for each of the service's ports. */
import { isIP } from 'node:net';
import { bool, type Data, int, list, oneOf, record, str, stringMap } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import type { Endpoint, HealthStatus, ServicePort } from './model.js';

const HEALTH: readonly HealthStatus[] = ['HEALTHY', 'UNHEALTHY', 'DRAINING'];

/**
 * `servicePorts` undefined: the service's ports are invalid, so an endpoint's `ports` cannot be
 * checked against them (and the result is never used). `admitted`: the service accounts the
 * service admits; a meshed endpoint must present one of them (clients accept nothing else).
 */
export function normalizeEndpoints(
  raw: unknown,
  servicePorts: readonly ServicePort[] | undefined,
  admitted: readonly string[],
  path: FieldPath,
  issues: Issue[],
): Endpoint[] {
  // "address:port" -> index of the first endpoint that uses it.
  const seen = new Map<string, number>();
  return list(raw).map((item, j) => {
    const at = [...path, j];
    const e = record(item);
    const address = str(e.address) ?? '';
    if (typeof e.address === 'string' && address !== '' && isIP(address) === 0) {
      issues.push({
        path: [...at, 'address'],
        message: `'${address}' is not an IP address; endpoints need an IPv4 or IPv6 literal (host names are not resolved)`,
      });
    }
    const ports = endpointPorts(e, servicePorts, at, issues);
    const meshed = bool(e.meshed) ?? false;
    const serviceAccount = str(e.serviceAccount) ?? admitted[0] ?? '';
    if (meshed && e.serviceAccount !== undefined && !admitted.includes(serviceAccount)) {
      issues.push({
        path: [...at, 'serviceAccount'],
        message: `service account '${serviceAccount}' is not one the service admits (serviceAccounts: ${admitted.join(', ')}); clients would refuse this endpoint's identity`,
      });
    }
    const usable = address === '' ? [] : Object.values(ports).filter((p) => p > 0);
    for (const port of new Set(usable)) {
      const key = isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, j);
      } else if (first !== j) {
        issues.push({ path: at, message: `${key} is already endpoints[${first}]` });
        break;
      }
    }
    return {
      address,
      ports,
      labels: stringMap(e.labels),
      region: str(e.region) ?? '',
      zone: str(e.zone) ?? '',
      weight: int(e.weight) ?? 1,
      health: oneOf(e.health, HEALTH) ?? 'HEALTHY',
      meshed,
      serviceAccount,
      source: 'mesh-file',
    };
  });
}

/** `port` applies to every service port; `ports` names one per service port. */
function endpointPorts(
  e: Data,
  servicePorts: readonly ServicePort[] | undefined,
  at: FieldPath,
  issues: Issue[],
): Record<number, number> {
  const ports: Record<number, number> = {};
  const port = int(e.port);
  if (e.port !== undefined && e.ports !== undefined) {
    issues.push({
      path: [...at, 'ports'],
      at: 'key',
      message: 'give either port or ports, not both',
    });
  }
  if (e.ports === undefined) {
    if (e.port === undefined) {
      issues.push({
        path: at,
        message: 'needs port (used for every service port) or ports (one per service port)',
      });
    }
    for (const sp of servicePorts ?? []) ports[sp.port] = port ?? 0;
    return ports;
  }
  if (servicePorts === undefined) return ports;
  const known = servicePorts.map((sp) => sp.port);
  for (const [key, value] of Object.entries(record(e.ports))) {
    const servicePort = Number(key);
    if (!known.includes(servicePort)) {
      issues.push({
        path: [...at, 'ports', key],
        at: 'key',
        message: `${key} is not a port of the service (its ports: ${known.join(', ')})`,
      });
      continue;
    }
    ports[servicePort] = int(value) ?? 0;
  }
  const missing = known.filter((p) => ports[p] === undefined);
  if (missing.length > 0 && Object.keys(record(e.ports)).length > 0) {
    issues.push({
      path: [...at, 'ports'],
      message: `has no endpoint port for service port ${missing.join(', ')}`,
    });
  }
  return ports;
}
