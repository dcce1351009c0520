/** One service of the mesh file, with defaults applied and its own consistency checked. */
import { isIP } from 'node:net';
import { int, list, oneOf, record, str, stringMap } from '../parsed-data/index.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import {
  DEFAULT_NAMESPACE,
  type Protocol,
  type Service,
  type ServicePort,
  type Subset,
  serviceHostname,
} from './model.js';
import { normalizeAuthorization } from './normalize-authorization.js';
import { normalizeEndpoints } from './normalize-endpoints.js';
import { normalizeHealthCheck } from './normalize-health-check.js';
import { normalizePolicy } from './normalize-policy.js';
import { normalizeRoutes } from './normalize-route.js';
import { normalizeServiceTelemetry } from './normalize-telemetry.js';
import { UniqueNames } from './unique-names.js';

export const PROTOCOLS: readonly Protocol[] = ['http', 'http2', 'grpc', 'tcp'];

/** Protocols whose ports get HTTP routes (tcp ports are proxied as plain streams). */
export const ROUTED_PROTOCOLS: readonly Protocol[] = ['http', 'http2', 'grpc'];

export interface ServiceContext {
  /** DNS suffix of host names. */
  readonly domain: string;
  /** False when the schema stage found errors in the service's ports: checks against them are skipped. */
  readonly portsValid: boolean;
}

export function normalizeService(
  raw: unknown,
  context: ServiceContext,
  path: FieldPath,
  issues: Issue[],
): Service {
  const s = record(raw);
  const name = str(s.name) ?? '';
  const namespace = str(s.namespace) ?? DEFAULT_NAMESPACE;
  const ports = readPorts(s.ports, [...path, 'ports'], issues);
  const routes = normalizeRoutes(s.routes, { name, namespace }, [...path, 'routes'], issues);
  // Read from the file rather than the normalized ports: a misspelt protocol is not tcp.
  const onlyTcp = ports.length > 0 && list(s.ports).every((p) => record(p).protocol === 'tcp');
  if (routes.length > 0 && onlyTcp) {
    issues.push({
      path: [...path, 'routes'],
      message: 'routes apply to http, http2 and grpc ports, and this service has only tcp ports',
    });
  }
  // Faults and rate limits act on HTTP requests; a tcp-only service has none.
  for (const key of ['fault', 'rateLimit']) {
    if (onlyTcp && record(s.policy)[key] !== undefined) {
      issues.push({
        path: [...path, 'policy', key],
        at: 'key',
        message: `${key} applies to http, http2 and grpc ports, and this service has only tcp ports`,
      });
    }
  }
  const authorization = normalizeAuthorization(
    s.authorization,
    { ports: context.portsValid ? ports : undefined, onlyTcp },
    [...path, 'authorization'],
    issues,
  );
  const telemetry = normalizeServiceTelemetry(s.telemetry, [...path, 'telemetry'], issues);
  // The schema checked each account's form and that the list is non-empty and unique.
  const serviceAccounts =
    s.serviceAccounts === undefined ? undefined : list(s.serviceAccounts).map((a) => str(a) ?? '');
  return {
    name,
    namespace,
    hostname: serviceHostname(name, namespace, context.domain),
    ...readAddresses(s.addresses, [...path, 'addresses'], issues),
    ...(serviceAccounts ? { serviceAccounts } : {}),
    ports,
    endpoints: normalizeEndpoints(
      s.endpoints,
      context.portsValid ? ports : undefined,
      serviceAccounts ?? [name],
      [...path, 'endpoints'],
      issues,
    ),
    policy: normalizePolicy(s.policy, [...path, 'policy'], issues),
    subsets: readSubsets(s.subsets, [...path, 'subsets'], issues),
    routes,
    ...(authorization.length > 0 ? { authorization } : {}),
    ...(telemetry !== undefined ? { telemetry } : {}),
  };
}

export function isRouted(port: ServicePort): boolean {
  return ROUTED_PROTOCOLS.includes(port.protocol);
}

/** The service's virtual IPs: IP literals, each once. */
function readAddresses(
  raw: unknown,
  path: FieldPath,
  issues: Issue[],
): { addresses?: readonly string[] } {
  const addresses: string[] = [];
  list(raw).forEach((item, j) => {
    const address = str(item);
    if (address === undefined || address === '') return;
    if (isIP(address) === 0) {
      issues.push({
        path: [...path, j],
        message: `'${address}' is not an IP address; a service address is an IPv4 or IPv6 literal`,
      });
    } else if (addresses.includes(address)) {
      issues.push({ path: [...path, j], message: `address ${address} is listed twice` });
    } else {
      addresses.push(address);
    }
  });
  return addresses.length > 0 ? { addresses } : {};
}

function readPorts(raw: unknown, path: FieldPath, issues: Issue[]): ServicePort[] {
  const byNumber = new Map<number, number>();
  const byName = new Map<string, number>();
  return list(raw).map((item, j) => {
    const p = record(item);
    const port = int(p.port) ?? 0;
    const protocol = oneOf(p.protocol, PROTOCOLS) ?? 'tcp';
    const name = str(p.name) ?? `${protocol}-${port}`;
    const sameNumber = byNumber.get(port);
    if (port > 0 && sameNumber !== undefined) {
      issues.push({
        path: [...path, j, 'port'],
        message: `port ${port} is already ports[${sameNumber}]`,
      });
    } else {
      byNumber.set(port, j);
    }
    const sameName = byName.get(name);
    if (sameName !== undefined) {
      // A defaulted name has no node of its own; the error then points at the port entry.
      issues.push({
        path: p.name !== undefined ? [...path, j, 'name'] : [...path, j],
        message: `port name '${name}' is already used by ports[${sameName}]`,
      });
    } else {
      byName.set(name, j);
    }
    return { port, protocol, name };
  });
}

function readSubsets(raw: unknown, path: FieldPath, issues: Issue[]): Subset[] {
  const names = new UniqueNames('subset name', 'subsets', issues);
  return list(raw).map((item, j) => {
    const s = record(item);
    const name = str(s.name) ?? '';
    names.add(name, j, [...path, j, 'name']);
    return {
      name,
      labels: stringMap(s.labels),
      ...normalizeHealthCheck(s.healthCheck, [...path, j, 'healthCheck'], issues),
    };
  });
}
