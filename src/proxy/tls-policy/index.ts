/**
 * What the data path needs to know about TLS, from xDS: per cluster, which endpoints get
 * mutual TLS and how the peer is verified; per inbound port, the mTLS mode, the TLS it
 * presents and the authorization that applies. Compiled once per configuration.
 */
export {
  compileInboundPolicy,
  type InboundPolicy,
  type InboundPortPolicy,
  parseDownstreamTls,
} from './inbound-policy.js';

export { TlsPolicyError } from './tls-policy-error.js';
export {
  compileUpstreamTls,
  type UpstreamTlsPolicy,
  type UpstreamTlsSettings,
} from './upstream-tls.js';
