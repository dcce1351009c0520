/**
 * Translation of the mesh model into Envoy xDS v3 resources (Listener, RouteConfiguration,
 * Cluster, ClusterLoadAssignment), in the protos' object form, ready for encodeResource.
 */
export { checkConsistency } from './consistency.js';

export { INVALID_BACKEND_CLUSTER } from './gateway-filters.js';
export { gatewayApiState } from './gateway-state.js';
export {
  inboundClusterName,
  outboundClusterName,
  outboundRouteConfigName,
} from './names.js';
export {
  type GatewayResources,
  mergeResources,
  type NamedResource,
  type Resources,
} from './resources.js';
export { translateMesh, translateWorkload } from './translate.js';
export { translateEgress } from './translate-egress.js';
export { translateGateway } from './translate-gateway.js';
export { endpointMetadata } from './workload-metadata.js';
