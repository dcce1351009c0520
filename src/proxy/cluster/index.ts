/** Runtime clusters: hosts, balancer and upstream settings built from CDS and EDS. */
export {
  buildCluster,
  type ClusterResource,
  type ClusterResult,
  edsName,
  type RuntimeCluster,
  upstreamProtocol,
} from './runtime-cluster.js';
