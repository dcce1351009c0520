/** TCP proxying: opaque byte streams to a cluster's hosts, both ways. */
export {
  proxyTcp,
  proxyTcpTo,
  type TcpOutcome,
  type TcpProxyEnv,
} from './tcp-proxy.js';
