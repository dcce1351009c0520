/**
 * Translation of the mesh model into Envoy xDS v3 resources (Listener, RouteConfiguration,
 * Cluster, ClusterLoadAssignment), in the protos' object form, ready for encodeResource.
 */
export { checkConsistency } from './consistency.js';
export { withGammaRoutes } from './gamma.js';
export { gatewayApiState } from './gateway-state.js';
export {
  endpointClusterName,
  inboundClusterName,
  outboundClusterName,
  outboundRouteConfigName,
  PASSTHROUGH_CLUSTER,
  VIRTUAL_INBOUND,
  VIRTUAL_OUTBOUND,
} from './names.js';
export {
  type GatewayResources,
  mergeResources,
  type NamedResource,
  type Resources,
  type Translation,
} from './resources.js';
export { translateMesh, translateWorkload } from './translate.js';
export {
  type GatewayTranslation,
  gatewayApiWarnings,
  translateGateway,
} from './translate-gateway.js';
export { endpointMetadata, meshClusterName } from './workload-metadata.js';
