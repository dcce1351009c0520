/**
 * The Kubernetes Gateway API (and GAMMA) as Ferry's configuration: the resources' model,
 * their validation, and the semantics the spec defines (attachment, hostnames, precedence,
 * references, status conditions). Translation to xDS is in src/controlplane/translate.
 */
export type { Condition } from './conditions.js';
export { covers, intersectHostnames } from './hostnames.js';
export type { GatewayApiIssue } from './issue.js';
export * from './model.js';
export { normalizeResources } from './normalize-resources.js';
export { effectivePrefix, rankMatches } from './precedence.js';

export {
  type GatewayApiState,
  type GatewayState,
  gammaRoutes,
  type ListenerState,
  type RouteState,
  resolveGatewayApi,
} from './resolve.js';
