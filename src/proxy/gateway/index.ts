/** The proxy at the mesh's edge: `Gateway.start(options)`, on LDS/RDS/CDS/EDS/SDS. */
export {
  Gateway,
  GatewayCompiler,
  type GatewayMode,
  type GatewayOptions,
  validateGatewayResource,
} from './gateway.js';
export { GatewayConfigError } from './gateway-error.js';
export {
  chainFor,
  compileGatewayListener,
} from './gateway-listener.js';
export { GatewayPrimary } from './gateway-primary.js';
