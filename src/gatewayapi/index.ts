/**
 * The Kubernetes Gateway API (and GAMMA) as Ferry's configuration: the resources' model,
 * their validation, and the semantics the spec defines (attachment, hostnames, precedence,
 * references, status conditions). Translation to xDS is in src/controlplane/translate.
 */
export { type Condition, condition, firstFalse } from './conditions.js';
export { covers, intersectHostnames } from './hostnames.js';
export type { GatewayApiIssue } from './issue.js';
export * from './model.js';
export {
  type NormalizedResources,
  normalizeResource,
  normalizeResources,
} from './normalize-resources.js';
export { compareMatches, effectivePrefix, type RankedMatch, rankMatches } from './precedence.js';
export { type Reference, referencePermitted } from './reference-grant.js';
export {
  type Attachment,
  type GatewayApiState,
  type GatewayClassState,
  type GatewayState,
  gammaRoutes,
  type ListenerState,
  type ResolveContext,
  type RouteParentState,
  type RouteState,
  resolveGatewayApi,
  routeBackends,
} from './resolve.js';
