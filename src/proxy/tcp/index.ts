/** TCP proxying: opaque byte streams to a cluster's hosts, both ways. */
export {
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  proxyTcp,
  proxyTcpTo,
  type TcpOutcome,
  type TcpProxyEnv,
  type TcpTarget,
  type UpstreamAddress,
} from './tcp-proxy.js';
