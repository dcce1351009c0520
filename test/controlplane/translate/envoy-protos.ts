/**
 * The real Envoy protos, parsed from the .proto files grpc-js-xds ships (annotations and
 * all), including the ones mTLS and authorization use. Resources are checked against this
 * root, independently of the descriptor the control plane loads at run time; a separate
 * test checks that the run-time root knows every typed config translation emits.
 */
import type protobuf from 'protobufjs';
import { parseEnvoyProtos } from '../../../src/xds/index.js';

/** Every message translation emits, directly or inside a typed config. */
export const SECURITY_PROTO_FILES = [
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
];

const FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/filters/http/stateful_session/v3/stateful_session.proto',
  'envoy/extensions/http/stateful_session/cookie/v3/cookie.proto',
  'envoy/extensions/http/stateful_session/header/v3/header.proto',
  ...SECURITY_PROTO_FILES,
];

let root: protobuf.Root | undefined;

export function fullEnvoyRoot(): protobuf.Root {
  root ??= parseEnvoyProtos(FILES);
  return root;
}

export function fullMessageType(fullName: string): protobuf.Type {
  return fullEnvoyRoot().lookupType(fullName);
}
