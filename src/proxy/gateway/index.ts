/** The proxy at the mesh's edge: `Gateway.start(options)`, on LDS/RDS/CDS/EDS/SDS. */
export { type HelloParse, parseClientHello, readClientHello } from './client-hello.js';
export {
  GATEWAY_META,
  Gateway,
  GatewayCompiler,
  type GatewayMode,
  type GatewayOptions,
  validateGatewayResource,
} from './gateway.js';
export { GatewayConfigError, type GatewayErrorCode } from './gateway-error.js';
export {
  type ChainKind,
  chainFor,
  compileGatewayListener,
  type GatewayChain,
  type GatewayListenerSpec,
} from './gateway-listener.js';
export { GatewayPrimary } from './gateway-primary.js';
