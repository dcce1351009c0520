/**
 * Auto-registration: the keys of the xDS `Node.metadata` Struct in which a Ferry sidecar
 * announces its workload, and their decoding into a Workload. A node without
 * FERRY_SERVICE announces nothing (proxyless gRPC clients, other Envoys).
 *
 * | key                   | type            | meaning                                         |
 * |-----------------------|-----------------|-------------------------------------------------|
 * | FERRY_SERVICE         | string          | service name (required to register)             |
 * | FERRY_NAMESPACE       | string          | namespace, default `default`                    |
 * | FERRY_LABELS          | struct (string) | endpoint labels, e.g. { version: v2 }           |
 * | FERRY_SERVICE_ACCOUNT | string          | SPIFFE service account, default `default`       |
 * | FERRY_ADDRESS         | string (IP)     | address other sidecars connect to (required)    |
 * | FERRY_INBOUND_PORT    | number          | sidecar inbound port: the endpoint port (req.)  |
 * | FERRY_OUTBOUND_PORT   | number          | sidecar outbound port, default 15001            |
 * | FERRY_APP_PORT        | number          | the app's port behind the inbound listener      |
 * | FERRY_ZONE / _REGION  | string          | locality; else Node.locality                    |
 * | FERRY_HEALTH          | string          | HEALTHY (default), UNHEALTHY or DRAINING        |
 * | FERRY_SERVICE_PORT    | number          | for a service the mesh file lacks: its port     |
 * | FERRY_PROTOCOL        | string          | for such a service: http, http2, grpc or tcp    |
 * | FERRY_METRICS_PORT    | number          | where the sidecar serves /stats/prometheus      |
 * | FERRY_ADMIN_PORT      | number          | its admin port (127.0.0.1 only: /tap, ...)      |
 * | FERRY_GATEWAY         | string          | `<namespace>/<name>` of the Gateway it serves   |
 * | FERRY_MODE            | string          | with FERRY_GATEWAY: gateway (default) or egress |
 * | FERRY_PORT_OFFSET     | number          | with FERRY_GATEWAY: added to its listeners' ports |
 *
 * FERRY_METRICS_PORT and FERRY_ADMIN_PORT are not part of the workload (they are no endpoint
 * property): the control plane reads them with metricsPortFromNode() and adminPortFromNode(),
 * to scrape the sidecar for its dashboard, to tell `ferry tap` where a sidecar's tap is, and
 * `ferry proxy-config` and `check` where to ask a sidecar for its own view (endpoint health,
 * certificates, log level).
 *
 * A node with FERRY_GATEWAY is a gateway (`ferry gateway`): it is served its Gateway's
 * listeners, routes and certificates, and is never registered as an endpoint, whatever
 * else it announces (gatewayFromNode()). An egress gateway that announces FERRY_ADDRESS is
 * a destination of the sidecars' traffic to the declared http hosts, at that address and the
 * mesh file's `egress.httpPort` plus its FERRY_PORT_OFFSET.
 */
import { isIP } from 'node:net';
import type { HealthStatus, Protocol, Workload } from '../mesh/index.js';
import { type Json, jsonToStruct, structToJson } from './codec.js';
import type { Struct } from './envoy-types.js';
import type { Node } from './messages.js';

export const META = {
  service: 'FERRY_SERVICE',
  namespace: 'FERRY_NAMESPACE',
  labels: 'FERRY_LABELS',
  serviceAccount: 'FERRY_SERVICE_ACCOUNT',
  address: 'FERRY_ADDRESS',
  inboundPort: 'FERRY_INBOUND_PORT',
  outboundPort: 'FERRY_OUTBOUND_PORT',
  appPort: 'FERRY_APP_PORT',
  zone: 'FERRY_ZONE',
  region: 'FERRY_REGION',
  health: 'FERRY_HEALTH',
  servicePort: 'FERRY_SERVICE_PORT',
  protocol: 'FERRY_PROTOCOL',
  metricsPort: 'FERRY_METRICS_PORT',
  adminPort: 'FERRY_ADMIN_PORT',
  gateway: 'FERRY_GATEWAY',
  mode: 'FERRY_MODE',
  portOffset: 'FERRY_PORT_OFFSET',
} as const;

const HEALTH: readonly string[] = ['HEALTHY', 'UNHEALTHY', 'DRAINING'];
const PROTOCOLS: readonly string[] = ['http', 'http2', 'grpc', 'tcp'];
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Kubernetes object name (a DNS subdomain). */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export type WorkloadResult =
  | { readonly ok: true; readonly workload: Workload | undefined }
  | { readonly ok: false; readonly error: string };

/** Reads the workload a node announces; `undefined` when it announces none. */
export function workloadFromNode(node: Node | undefined): WorkloadResult {
  const meta = structToJson(node?.metadata);
  if (meta[META.service] === undefined || meta[META.gateway] !== undefined) {
    return { ok: true, workload: undefined };
  }
  const errors: string[] = [];
  const str = (key: string, fallback?: string): string => {
    const v = meta[key];
    if (v === undefined || v === '') {
      if (fallback === undefined) errors.push(`${key} is required`);
      return fallback ?? '';
    }
    if (typeof v !== 'string') errors.push(`${key} must be a string`);
    return String(v);
  };
  const port = (key: string, required: boolean): number | undefined => {
    const v = meta[key];
    if (v === undefined || v === '') {
      if (required) errors.push(`${key} is required`);
      return undefined;
    }
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      errors.push(`${key} must be a port number (1-65535), got ${JSON.stringify(v)}`);
      return undefined;
    }
    return n;
  };
  const service = str(META.service);
  if (service && !NAME.test(service))
    errors.push(`${META.service} "${service}" is not a DNS label`);
  const namespace = str(META.namespace, 'default');
  if (!NAME.test(namespace)) errors.push(`${META.namespace} "${namespace}" is not a DNS label`);
  const address = str(META.address);
  if (address && isIP(address) === 0) {
    errors.push(`${META.address} must be an IP literal, got "${address}"`);
  }
  const labels: Record<string, string> = {};
  const rawLabels = meta[META.labels];
  if (rawLabels !== undefined) {
    if (typeof rawLabels !== 'object' || rawLabels === null || Array.isArray(rawLabels)) {
      errors.push(`${META.labels} must be a struct of strings`);
    } else {
      for (const [k, v] of Object.entries(rawLabels)) {
        if (typeof v !== 'string') errors.push(`${META.labels}.${k} must be a string`);
        else labels[k] = v;
      }
    }
  }
  const health = str(META.health, 'HEALTHY');
  if (!HEALTH.includes(health)) errors.push(`${META.health} must be one of ${HEALTH.join(', ')}`);
  const protocol = meta[META.protocol] === undefined ? undefined : str(META.protocol);
  if (protocol !== undefined && !PROTOCOLS.includes(protocol)) {
    errors.push(`${META.protocol} must be one of ${PROTOCOLS.join(', ')}`);
  }
  const workload: Workload = {
    id: node?.id ?? '',
    service,
    namespace,
    labels,
    serviceAccount: str(META.serviceAccount, 'default'),
    address,
    inboundPort: port(META.inboundPort, true) ?? 0,
    outboundPort: port(META.outboundPort, false) ?? 15001,
    appPort: port(META.appPort, false),
    zone: str(META.zone, node?.locality?.zone ?? ''),
    region: str(META.region, node?.locality?.region ?? ''),
    health: health as HealthStatus,
    servicePort: port(META.servicePort, false),
    protocol: protocol as Protocol | undefined,
  };
  if (!workload.id) errors.push('Node.id is required to register a workload');
  if (errors.length) return { ok: false, error: `node metadata: ${errors.join('; ')}` };
  return { ok: true, workload };
}

function announcedPort(node: Node | undefined, key: string): number | undefined {
  const meta = structToJson(node?.metadata);
  const port = meta[key];
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536
    ? port
    : undefined;
}

/** The metrics port a sidecar announced, if a valid one. */
export function metricsPortFromNode(node: Node | undefined): number | undefined {
  return announcedPort(node, META.metricsPort);
}

/** The admin port a sidecar announced, if a valid one. */
export function adminPortFromNode(node: Node | undefined): number | undefined {
  return announcedPort(node, META.adminPort);
}

/** The Node.metadata Struct announcing a workload (used by the sidecar and tests). */
export function nodeMetadataFor(
  w: Omit<Workload, 'id'>,
  extra: { readonly metricsPort?: number; readonly adminPort?: number } = {},
): Struct {
  const meta: Record<string, Json> = {
    [META.service]: w.service,
    [META.namespace]: w.namespace,
    [META.labels]: { ...w.labels },
    [META.serviceAccount]: w.serviceAccount,
    [META.address]: w.address,
    [META.inboundPort]: w.inboundPort,
    [META.outboundPort]: w.outboundPort,
    [META.health]: w.health,
  };
  if (w.appPort !== undefined) meta[META.appPort] = w.appPort;
  if (w.zone) meta[META.zone] = w.zone;
  if (w.region) meta[META.region] = w.region;
  if (w.servicePort !== undefined) meta[META.servicePort] = w.servicePort;
  if (w.protocol !== undefined) meta[META.protocol] = w.protocol;
  if (extra.metricsPort !== undefined) meta[META.metricsPort] = extra.metricsPort;
  if (extra.adminPort !== undefined) meta[META.adminPort] = extra.adminPort;
  return jsonToStruct(meta);
}

/** A gateway node: the Gateway (`<namespace>/<name>`) it implements, and its mode. */
export interface GatewayNode {
  readonly gateway: string;
  readonly mode: 'gateway' | 'egress';
  /** Where sidecars reach it (FERRY_ADDRESS), if it said. */
  readonly address?: string;
  /** Added to each of its listeners' ports (`--port-offset`); absent: 0. */
  readonly portOffset?: number;
}

export type GatewayNodeResult =
  | { readonly ok: true; readonly gateway: GatewayNode | undefined }
  | { readonly ok: false; readonly error: string };

/** Reads the Gateway a node announces it serves; `undefined` when it is no gateway. */
export function gatewayFromNode(node: Node | undefined): GatewayNodeResult {
  const meta = structToJson(node?.metadata);
  const gateway = meta[META.gateway];
  if (gateway === undefined) return { ok: true, gateway: undefined };
  const parts = typeof gateway === 'string' ? gateway.split('/') : [];
  if (parts.length !== 2 || !NAME.test(parts[0]) || !OBJECT_NAME.test(parts[1])) {
    return {
      ok: false,
      error: `node metadata: ${META.gateway} must be <namespace>/<name>, got ${JSON.stringify(gateway)}`,
    };
  }
  const mode = meta[META.mode] ?? 'gateway';
  if (mode !== 'gateway' && mode !== 'egress') {
    return { ok: false, error: `node metadata: ${META.mode} must be gateway or egress` };
  }
  const address = meta[META.address];
  if (address !== undefined && (typeof address !== 'string' || isIP(address) === 0)) {
    return {
      ok: false,
      error: `node metadata: ${META.address} must be an IP literal, got ${JSON.stringify(address)}`,
    };
  }
  const offset = meta[META.portOffset] ?? 0;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > 65535) {
    return {
      ok: false,
      error: `node metadata: ${META.portOffset} must be a whole number 0..65535, got ${JSON.stringify(offset)}`,
    };
  }
  return {
    ok: true,
    gateway: {
      gateway: parts.join('/'),
      mode,
      ...(address === undefined ? {} : { address }),
      ...(offset === 0 ? {} : { portOffset: offset }),
    },
  };
}
