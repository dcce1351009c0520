/**
 * Which of Ferry's protocols a Service port speaks, read as Istio reads it
 * (https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/):
 * the port's appProtocol first, then its name (`grpc`, `http2-web`, ...), then a few
 * well-known port numbers; anything else is tcp (proxied as a plain stream, which is always
 * safe).
 */
import type { Protocol } from '../../mesh/index.js';
import type { KubeServicePort } from './kube-objects.js';

const BY_APP_PROTOCOL: Readonly<Record<string, Protocol>> = {
  http: 'http',
  http2: 'http2',
  grpc: 'grpc',
  'grpc-web': 'http',
  tcp: 'tcp',
  tls: 'tcp',
  https: 'tcp',
  // Kubernetes' standard application protocols (KEP-3726).
  'kubernetes.io/h2c': 'http2',
  'kubernetes.io/ws': 'http',
  'kubernetes.io/wss': 'tcp',
};

/** Port numbers whose protocol is a convention strong enough to rely on. */
const BY_NUMBER: Readonly<Record<number, Protocol>> = {
  80: 'http',
  8080: 'http',
  50051: 'grpc',
};

export function portProtocol(port: KubeServicePort): Protocol {
  const app = port.appProtocol?.toLowerCase();
  if (app && BY_APP_PROTOCOL[app]) return BY_APP_PROTOCOL[app];
  // Istio's naming convention: <protocol>[-<suffix>].
  const prefix = port.name?.toLowerCase().split('-')[0];
  if (prefix === 'grpc' && port.name?.toLowerCase().startsWith('grpc-web')) return 'http';
  if (prefix && BY_APP_PROTOCOL[prefix]) return BY_APP_PROTOCOL[prefix];
  return BY_NUMBER[port.port] ?? 'tcp';
}
