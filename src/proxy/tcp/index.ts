/** TCP proxying: opaque byte streams to a cluster's hosts, both ways. */
export {
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  proxyTcp,
  type TcpOutcome,
  type TcpProxyEnv,
} from './tcp-proxy.js';
