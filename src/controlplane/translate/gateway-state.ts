/**
 * The Gateway API semantics over a mesh config: services from the registry's view, TLS
 * secrets as loaded, and (locally) every Gateway Ferry's. Computed at configuration time.
 */
import {
  EMPTY_GATEWAY_API,
  type GatewayApiState,
  resolveGatewayApi,
} from '../../gatewayapi/index.js';
import type { MeshConfig } from '../../mesh/index.js';
import { indexServices, type ServiceIndex } from './service-index.js';

export interface GatewayStateOptions {
  /** Kubernetes: only GatewayClasses with Ferry's controllerName. Default: every Gateway. */
  readonly declaredClassesOnly?: boolean;
  readonly namespaceLabels?: (namespace: string) => Readonly<Record<string, string>>;
}

export function gatewayApiState(
  config: MeshConfig,
  index: ServiceIndex = indexServices(config),
  options: GatewayStateOptions = {},
): GatewayApiState {
  const secrets = new Map((config.tlsSecrets ?? []).map((s) => [`${s.namespace}/${s.name}`, s]));
  return resolveGatewayApi(config.gatewayApi ?? EMPTY_GATEWAY_API, {
    servicePorts: (namespace, name) => index.find(name, namespace)?.ports.map((p) => p.port),
    secretExists: (namespace, name) => secrets.has(`${namespace}/${name}`),
    secretProblem: (namespace, name) => secrets.get(`${namespace}/${name}`)?.problem,
    namespaceLabels: options.namespaceLabels ?? (() => ({})),
    undeclaredClassIsOurs: !options.declaredClassesOnly,
  });
}
