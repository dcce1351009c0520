/**
 * Translation of the mesh model into Envoy xDS v3 resources (Listener, RouteConfiguration,
 * Cluster, ClusterLoadAssignment), in the protos' object form, ready for encodeResource.
 */
export { checkConsistency } from './consistency.js';
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
  mergeResources,
  type NamedResource,
  type Resources,
  type Translation,
} from './resources.js';
export { translateMesh, translateWorkload } from './translate.js';
export { endpointMetadata, meshClusterName } from './workload-metadata.js';
