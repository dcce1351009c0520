/**
 * What a listener's configuration says about traces and access logs, read from the fields
 * Envoy uses (as Ferry's control plane writes them, see controlplane/translate/telemetry.ts):
 * - the HttpConnectionManager's `tracing`: provider `envoy.tracers.opentelemetry`, its OTLP
 *   exporter (`http_service.http_uri.uri`, or `grpc_service` to `envoy_grpc.authority`, the
 *   named cluster's address, or `google_grpc.target_uri`) and `random_sampling`; another
 *   provider is not one this sidecar speaks and counts as no tracing;
 * - the `access_log` of the HttpConnectionManager or tcp_proxy: a file (`/dev/stdout` and the
 *   stdout logger: standard output; `/dev/null`: off on purpose);
 * - `metadata.filter_metadata.ferry.trace_propagation`: the propagation formats.
 * "Not said" (undefined) leaves the decision to the sidecar's flags. Read at config time only.
 */
import { type ProtoStruct, structToJson } from '../../xds/index.js';
import type { ProxyConfig } from '../../xds-client/index.js';
import type { Propagation } from '../tracing/index.js';

/** Tracing as a listener asks for it. */
export interface TracingSpec {
  readonly endpoint: string;
  readonly protocol: 'http/protobuf' | 'grpc';
  /** 0..1. */
  readonly sampling: number;
  readonly propagation: readonly Propagation[];
  /** service.name of the spans; absent: the sidecar's service. */
  readonly serviceName?: string;
}

/** A file path, '-' for standard output, or 'off'. */
export type AccessLogTarget = string;
export const ACCESS_LOG_OFF = 'off';

export interface ListenerTelemetrySpec {
  readonly tracing?: TracingSpec;
  readonly accessLog?: AccessLogTarget;
  /** `metadata.filter_metadata.ferry.cluster_id`: the `*_cluster` of the metrics, if said. */
  readonly clusterName?: string;
  /** `metadata.filter_metadata.ferry.peer_metadata`: false turns peer naming off. */
  readonly peerMetadata?: boolean;
}

const OPENTELEMETRY = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';
const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const PROPAGATIONS: readonly Propagation[] = ['w3c', 'b3', 'b3multi'];

interface SocketAddressLike {
  readonly address?: string;
  readonly port_value?: number;
}

interface OpenTelemetryLike {
  readonly '@type'?: string;
  readonly service_name?: string;
  readonly http_service?: { readonly http_uri?: { readonly uri?: string } };
  readonly grpc_service?: {
    readonly envoy_grpc?: { readonly cluster_name?: string; readonly authority?: string };
    readonly google_grpc?: { readonly target_uri?: string };
  };
}

/** The fields of HCM and tcp_proxy read here. */
export interface TelemetryFilterLike {
  readonly '@type'?: string;
  readonly tracing?: {
    readonly random_sampling?: { readonly value?: number };
    readonly provider?: { readonly typed_config?: OpenTelemetryLike };
  };
  readonly access_log?: ReadonlyArray<{
    readonly typed_config?: { readonly '@type'?: string; readonly path?: string };
  }>;
}

interface MetadataLike {
  readonly filter_metadata?: Readonly<Record<string, ProtoStruct>>;
}

/** The address of a STATIC/STRICT_DNS cluster's first endpoint, as host:port. */
function clusterAddress(clusters: ProxyConfig['clusters'], name: string): string | undefined {
  const value = clusters.get(name)?.value as
    | {
        load_assignment?: {
          endpoints?: Array<{
            lb_endpoints?: Array<{
              endpoint?: { address?: { socket_address?: SocketAddressLike } };
            }>;
          }>;
        };
      }
    | undefined;
  const socket =
    value?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address?.socket_address;
  if (!socket?.address || !socket.port_value) return undefined;
  const host = socket.address.includes(':') ? `[${socket.address}]` : socket.address;
  return `${host}:${socket.port_value}`;
}

function readPropagation(metadata: MetadataLike | undefined): Propagation[] {
  const values = structToJson(metadata?.filter_metadata?.ferry).trace_propagation;
  if (!Array.isArray(values)) return ['w3c'];
  const out: Propagation[] = [];
  for (const name of values) {
    const known = PROPAGATIONS.find((p) => p === name);
    if (!known) throw new Error(`trace propagation "${String(name)}" is not w3c, b3 or b3multi`);
    out.push(known);
  }
  return out.length > 0 ? out : ['w3c'];
}

function readTracing(
  filter: TelemetryFilterLike,
  metadata: MetadataLike | undefined,
  clusters: ProxyConfig['clusters'] | undefined,
): TracingSpec | undefined {
  const t = filter.tracing;
  const otel = t?.provider?.typed_config;
  if (!t || otel?.['@type'] !== OPENTELEMETRY) return undefined;
  const percent = t.random_sampling?.value ?? 100;
  if (!(percent >= 0 && percent <= 100)) {
    throw new Error(`tracing random_sampling ${percent} is not a percentage (0..100)`);
  }
  const grpc = otel.grpc_service;
  const cluster = grpc?.envoy_grpc?.cluster_name;
  const address =
    grpc?.envoy_grpc?.authority ||
    (cluster && clusters ? clusterAddress(clusters, cluster) : undefined) ||
    grpc?.google_grpc?.target_uri;
  const endpoint = otel.http_service
    ? otel.http_service.http_uri?.uri
    : address
      ? `http://${address}`
      : undefined;
  // Checking one listener alone, a collector named by cluster is looked up later.
  if (!endpoint && !(cluster && !clusters)) {
    throw new Error('tracing provider envoy.tracers.opentelemetry has no OTLP exporter address');
  }
  return {
    endpoint: endpoint ?? '',
    protocol: otel.http_service ? 'http/protobuf' : 'grpc',
    sampling: percent / 100,
    propagation: readPropagation(metadata),
    ...(otel.service_name ? { serviceName: otel.service_name } : {}),
  };
}

function readAccessLog(filter: TelemetryFilterLike): AccessLogTarget | undefined {
  const loggers = filter.access_log;
  if (!loggers || loggers.length === 0) return undefined;
  for (const l of loggers) {
    const config = l.typed_config;
    if (config?.['@type'] === STDOUT_LOG) return '-';
    if (config?.['@type'] === FILE_LOG && config.path) {
      if (config.path === '/dev/null') return ACCESS_LOG_OFF;
      return config.path === '/dev/stdout' ? '-' : config.path;
    }
  }
  // Loggers of kinds this sidecar does not write (gRPC, OpenTelemetry): no local log.
  return ACCESS_LOG_OFF;
}

/**
 * The telemetry of a listener from its network filters (the first HCM or tcp_proxy) and its
 * metadata. Throws on a tracing block it cannot follow. `clusters` resolves a gRPC exporter
 * named by cluster; without it (validation of one resource) the address is not looked up.
 */
export function readListenerTelemetry(
  filters: Iterable<TelemetryFilterLike>,
  metadata: object | undefined,
  clusters?: ProxyConfig['clusters'],
): ListenerTelemetrySpec {
  const ferry = structToJson((metadata as MetadataLike | undefined)?.filter_metadata?.ferry);
  const clusterId = ferry.cluster_id;
  const named = {
    ...(typeof clusterId === 'string' && clusterId ? { clusterName: clusterId } : {}),
    ...(ferry.peer_metadata === false ? { peerMetadata: false } : {}),
  };
  for (const f of filters) {
    if (f['@type'] !== HCM && f['@type'] !== TCP_PROXY) continue;
    const tracing =
      f['@type'] === HCM ? readTracing(f, metadata as MetadataLike, clusters) : undefined;
    const accessLog = readAccessLog(f);
    return {
      ...(tracing ? { tracing } : {}),
      ...(accessLog !== undefined ? { accessLog } : {}),
      ...named,
    };
  }
  return named;
}
