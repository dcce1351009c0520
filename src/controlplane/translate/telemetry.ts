/**
 * The mesh file's telemetry as Envoy carries it, in standard fields as Istio emits them:
 * - traces: the HttpConnectionManager's `tracing`, provider `envoy.tracers.opentelemetry`
 *   (OpenTelemetryConfig with an OTLP `http_service` or `grpc_service` to a collector
 *   cluster) and `random_sampling`;
 * - access logs: the `access_log` of the HttpConnectionManager and of tcp_proxy, to a file
 *   (`envoy.access_loggers.file`) or standard output (`envoy.access_loggers.stdout`) with a
 *   JSON format. Logs switched off on purpose go to `/dev/null`, as Istio spells "off", so a
 *   sidecar can tell "off" from "not said" (where its own flag decides).
 * Envoy's OpenTelemetry tracer has no field for propagation formats (it speaks W3C), so the
 * formats ride in the listener's `metadata.filter_metadata.ferry.trace_propagation`, where
 * Envoy keeps data for its filters and ignores what it does not know.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/trace/v3/opentelemetry.proto
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/access_loggers/file/v3/file.proto
 */
import { isIP } from 'node:net';
import {
  type AccessLogSettings,
  DEFAULT_CONNECT_TIMEOUT_MS,
  effectiveAccessLog,
  type MeshSettings,
  type Service,
  type TracingSettings,
} from '../../mesh/index.js';
import { durationFromMs, jsonToStruct, messageName, typed, types } from '../../xds/index.js';
import { outboundClusterName } from './names.js';
import { upstreamProtocolOptions } from './protocols.js';
import type { Message } from './resources.js';

export const OPENTELEMETRY_CONFIG = messageName(types.OPENTELEMETRY_CONFIG);
const FILE_ACCESS_LOG = messageName(types.FILE_ACCESS_LOG);
const STDOUT_ACCESS_LOG = messageName(types.STDOUT_ACCESS_LOG);
/** How long one export may take before the batch is given up. */
const EXPORT_TIMEOUT_MS = 3000;
/** Where logs switched off go. */
export const DISCARD_PATH = '/dev/null';

/** The keys of a TCP connection's log line, with the Envoy command operator that fills each. */
const TCP_LOG_FORMAT = {
  start_time: '%START_TIME%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration_ms: '%DURATION%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_host: '%UPSTREAM_HOST%',
  peer: '%DOWNSTREAM_PEER_URI_SAN%',
};

/** A request's log line: the connection's keys and the request's own. */
const HTTP_LOG_FORMAT = {
  ...TCP_LOG_FORMAT,
  method: '%REQ(:METHOD)%',
  authority: '%REQ(:AUTHORITY)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  grpc_status: '%GRPC_STATUS_NUMBER%',
  request_id: '%REQ(X-REQUEST-ID)%',
  trace_id: '%TRACE_ID%',
};

/** `host:port`, with an IPv6 literal in brackets. */
function hostPort(t: TracingSettings): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

/** The cluster the sidecars export spans through: the collector's, as Istio names it. */
export function collectorClusterName(t: TracingSettings): string {
  return outboundClusterName(t.port, t.host);
}

/**
 * The collector as a cluster: STATIC for an IP literal, STRICT_DNS for a host name; HTTP/2
 * for OTLP over gRPC. Used when the collector is not a port of a mesh service.
 */
export function collectorCluster(t: TracingSettings): Message {
  const name = collectorClusterName(t);
  const options = t.protocol === 'grpc' ? upstreamProtocolOptions('http2') : undefined;
  return {
    name,
    type: isIP(t.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: t.host, port_value: t.port } } } },
          ],
        },
      ],
    },
    ...(options ? { typed_extension_protocol_options: options } : {}),
  };
}

/** The HttpConnectionManager's `tracing`: OpenTelemetry over OTLP, sampled at random. */
function hcmTracing(t: TracingSettings, serviceName: string): Message {
  const cluster = collectorClusterName(t);
  const timeout = durationFromMs(EXPORT_TIMEOUT_MS);
  const exporter =
    t.protocol === 'grpc'
      ? { grpc_service: { envoy_grpc: { cluster_name: cluster, authority: hostPort(t) }, timeout } }
      : { http_service: { http_uri: { uri: `http://${hostPort(t)}${t.path}`, cluster, timeout } } };
  return {
    random_sampling: { value: t.sampling },
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: typed(OPENTELEMETRY_CONFIG, { ...exporter, service_name: serviceName }),
    },
  };
}

/**
 * The listener metadata that carries the propagation formats and, when the mesh file says
 * so, the cluster name the sidecar's metrics carry (absent: Istio's default, `Kubernetes`)
 * and `peer_metadata: false` (the sidecar then names no peer).
 */
function listenerMetadata(mesh: MeshSettings): Message | undefined {
  const t = mesh.telemetry?.tracing;
  const clusterName = mesh.telemetry?.clusterName;
  const peersOff = mesh.telemetry?.peerMetadata === false;
  if (!t && clusterName === undefined && !peersOff) return undefined;
  const ferry = {
    ...(t ? { trace_propagation: [...t.propagation] } : {}),
    ...(clusterName !== undefined ? { cluster_id: clusterName } : {}),
    ...(peersOff ? { peer_metadata: false } : {}),
  };
  return { filter_metadata: { ferry: jsonToStruct(ferry) } };
}

/**
 * An `access_log` list for an HTTP connection manager or a TCP proxy: empty when the mesh
 * file says nothing, one logger otherwise (to /dev/null when switched off).
 */
function accessLogs(a: AccessLogSettings | undefined, kind: 'http' | 'tcp'): Message[] {
  if (a === undefined) return [];
  const logFormat = {
    json_format: jsonToStruct(kind === 'http' ? HTTP_LOG_FORMAT : TCP_LOG_FORMAT),
  };
  if (!a.enabled || a.path !== undefined) {
    return [
      {
        name: 'envoy.access_loggers.file',
        typed_config: typed(FILE_ACCESS_LOG, {
          path: a.enabled ? a.path : DISCARD_PATH,
          log_format: logFormat,
        }),
      },
    ];
  }
  return [
    {
      name: 'envoy.access_loggers.stdout',
      typed_config: typed(STDOUT_ACCESS_LOG, { log_format: logFormat }),
    },
  ];
}

/** What a sidecar's listeners carry of the mesh's telemetry. */
export interface ListenerTelemetry {
  /** The HCM's `tracing`, when the mesh traces. */
  readonly tracing?: Message;
  /** The HCM's `access_log`. */
  readonly httpAccessLog: readonly Message[];
  /** tcp_proxy's `access_log`. */
  readonly tcpAccessLog: readonly Message[];
  /** The listener's `metadata`, when there is some. */
  readonly metadata?: Message;
}

/** The telemetry of a workload's listeners, from the mesh's and its service's settings. */
export function listenerTelemetry(
  mesh: MeshSettings,
  service: Service | undefined,
  serviceName: string,
): ListenerTelemetry {
  const tracing = mesh.telemetry?.tracing;
  const access = effectiveAccessLog(service, mesh);
  const metadata = listenerMetadata(mesh);
  return {
    ...(tracing ? { tracing: hcmTracing(tracing, serviceName) } : {}),
    httpAccessLog: accessLogs(access, 'http'),
    tcpAccessLog: accessLogs(access, 'tcp'),
    ...(metadata ? { metadata } : {}),
  };
}
