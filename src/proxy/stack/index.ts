/**
 * The data path as one stack, after linkerd2-proxy's logical -> concrete -> endpoint:
 * the route layer decides what a request is (refusal, local answer or forward), the
 * concrete layer its cluster, breakers and host, the endpoint layer the connection.
 */
export {
  acquireHost,
  admit,
  admitConnection,
  admitRetry,
  chooseCluster,
  chooseSessionCluster,
  pickContext,
  pickHost,
  release,
  releaseConnection,
  releaseRetry,
  reportConnected,
  reportLocalFailure,
  reportStatus,
  sessionHost,
} from './concrete-layer.js';
export {
  connectHost,
  endpointPool,
  endpointTls,
  hostBegin,
  hostDone,
  isSecure,
} from './endpoint-layer.js';
export {
  authorize,
  Delay,
  decideRoute,
  MALFORMED_PATH,
  Refusal,
  type RouteFilterSet,
  type RoutePolicy,
  refusalOf,
  upstreamAuthority,
  upstreamPath,
} from './route-layer.js';
