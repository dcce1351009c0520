/** Which ports speak HTTP, and how a cluster talks to its upstream. */
import type { Protocol, ServicePort } from '../../mesh/index.js';
import { messageName, typed, types } from '../../xds/index.js';
import type { Message } from './resources.js';

/** Ports that get virtual hosts and routes (everything but raw TCP). */
export function isHttpProtocol(protocol: Protocol): boolean {
  return protocol !== 'tcp';
}

/** Ports whose upstream connections must be HTTP/2 (h2c); gRPC needs it. */
export function isHttp2Protocol(protocol: Protocol): boolean {
  return protocol === 'http2' || protocol === 'grpc';
}

/** The HTTP-ish ports of a service, in declaration order. */
export function httpPorts(ports: readonly ServicePort[]): ServicePort[] {
  return ports.filter((p) => isHttpProtocol(p.protocol));
}

/** How a cluster speaks HTTP to its upstream. */
export type UpstreamHttp = 'http1' | 'http2' | 'downstream';

const HTTP_PROTOCOL_OPTIONS = messageName(types.HTTP_PROTOCOL_OPTIONS);

/**
 * `typed_extension_protocol_options` of a cluster, or undefined for HTTP/1.1 (Envoy's
 * default). `downstream` reuses the protocol the request came in with, for an app port
 * that serves both HTTP/1.1 and HTTP/2.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/upstreams/http/v3/http_protocol_options.proto
 */
export function upstreamProtocolOptions(http: UpstreamHttp): Message | undefined {
  if (http === 'http1') return undefined;
  const options =
    http === 'http2'
      ? { explicit_http_config: { http2_protocol_options: {} } }
      : {
          use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
        };
  return { [HTTP_PROTOCOL_OPTIONS]: typed(HTTP_PROTOCOL_OPTIONS, options) };
}
