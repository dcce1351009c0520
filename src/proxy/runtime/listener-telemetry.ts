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
import { type envoy, structToJson, types, unpackAny } from '../../xds/index.js';
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
  /**
   * A gRPC collector named only by cluster (`envoy_grpc.cluster_name`): its address is that
   * cluster's, looked up when the configuration is assembled (`endpoint` is '' until then).
   */
  readonly collectorCluster?: string;
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

const PROPAGATIONS: readonly Propagation[] = ['w3c', 'b3', 'b3multi'];

function readPropagation(metadata: envoy.Metadata | undefined): Propagation[] {
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
  filter: envoy.HttpConnectionManager,
  metadata: envoy.Metadata | undefined,
): TracingSpec | undefined {
  const t = filter.tracing;
  const otel = unpackAny<envoy.OpenTelemetryConfig>(
    t?.provider?.typed_config,
    types.OPENTELEMETRY_CONFIG,
  );
  if (!t || !otel) return undefined;
  // A double: the codec renders NaN and the infinities as strings.
  const percent = Number(t.random_sampling?.value ?? 100);
  if (!(percent >= 0 && percent <= 100)) {
    throw new Error(`tracing random_sampling ${percent} is not a percentage (0..100)`);
  }
  const grpc = otel.grpc_service;
  const cluster = grpc?.envoy_grpc?.cluster_name;
  const authority = grpc?.envoy_grpc?.authority;
  // A collector named by cluster is looked up when the configuration is assembled.
  const byCluster = !otel.http_service && !authority && cluster ? cluster : undefined;
  const address = authority || (byCluster ? undefined : grpc?.google_grpc?.target_uri);
  const endpoint = otel.http_service
    ? otel.http_service.http_uri?.uri
    : address
      ? `http://${address}`
      : undefined;
  if (!endpoint && !byCluster) {
    throw new Error('tracing provider envoy.tracers.opentelemetry has no OTLP exporter address');
  }
  return {
    endpoint: endpoint ?? '',
    protocol: otel.http_service ? 'http/protobuf' : 'grpc',
    sampling: percent / 100,
    propagation: readPropagation(metadata),
    ...(otel.service_name ? { serviceName: otel.service_name } : {}),
    ...(byCluster ? { collectorCluster: byCluster } : {}),
  };
}

function readAccessLog(
  loggers: readonly envoy.AccessLog[] | undefined,
): AccessLogTarget | undefined {
  if (!loggers || loggers.length === 0) return undefined;
  for (const l of loggers) {
    if (unpackAny(l.typed_config, types.STDOUT_ACCESS_LOG)) return '-';
    const file = unpackAny<envoy.FileAccessLog>(l.typed_config, types.FILE_ACCESS_LOG);
    if (file?.path) {
      if (file.path === '/dev/null') return ACCESS_LOG_OFF;
      return file.path === '/dev/stdout' ? '-' : file.path;
    }
  }
  // Loggers of kinds this sidecar does not write (gRPC, OpenTelemetry): no local log.
  return ACCESS_LOG_OFF;
}

/**
 * The telemetry of a listener from its network filters (the first HCM or tcp_proxy) and its
 * metadata, when the listener arrives. Throws on a tracing block it cannot follow. A gRPC
 * exporter named by cluster is left for `resolveCollector`.
 */
export function readListenerTelemetry(
  filters: Iterable<envoy.Any>,
  metadata: envoy.Metadata | undefined,
): ListenerTelemetrySpec {
  const ferry = structToJson(metadata?.filter_metadata?.ferry);
  const clusterId = ferry.cluster_id;
  const named = {
    ...(typeof clusterId === 'string' && clusterId ? { clusterName: clusterId } : {}),
    ...(ferry.peer_metadata === false ? { peerMetadata: false } : {}),
  };
  for (const f of filters) {
    const hcm = unpackAny<envoy.HttpConnectionManager>(f, types.HTTP_CONNECTION_MANAGER);
    const tcp = hcm ? undefined : unpackAny<envoy.TcpProxy>(f, types.TCP_PROXY);
    if (!hcm && !tcp) continue;
    const tracing = hcm ? readTracing(hcm, metadata) : undefined;
    const accessLog = readAccessLog((hcm ?? tcp)?.access_log);
    return {
      ...(tracing ? { tracing } : {}),
      ...(accessLog !== undefined ? { accessLog } : {}),
      ...named,
    };
  }
  return named;
}

/**
 * The spec with a collector named by cluster given that cluster's address (`addressOf`:
 * host:port of its first endpoint). A cluster that is not there (or has no endpoint) turns
 * the listener's tracing off, with a warning: the listener was accepted on its own, and
 * the rest of the configuration still applies.
 */
export function resolveCollector(
  spec: ListenerTelemetrySpec,
  addressOf: (cluster: string) => string | undefined,
): { readonly spec: ListenerTelemetrySpec; readonly warning?: string } {
  const cluster = spec.tracing?.collectorCluster;
  if (cluster === undefined) return { spec };
  const { tracing: _unresolved, ...rest } = spec;
  const address = addressOf(cluster);
  if (address === undefined) {
    return {
      spec: rest,
      warning: `tracing collector cluster "${cluster}" has no endpoint; tracing is off`,
    };
  }
  const { collectorCluster: _cluster, ...tracing } = spec.tracing!;
  return { spec: { ...rest, tracing: { ...tracing, endpoint: `http://${address}` } } };
}
