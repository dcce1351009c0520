/** xDS v3: protos, type URLs, resource encoding and the ADS service definition. */

export {
  type AdsClient,
  adsServiceDefinition,
  controlPlaneChannelOptions,
  createAdsClient,
} from './ads-service.js';
export { anyType, anyTypeUrl, unpackAny } from './any.js';
export {
  decodeMessage,
  decodeResource,
  encodeMessage,
  encodeResource,
  type Json,
  jsonToStruct,
  structToJson,
  typed,
} from './codec.js';
export { durationFromMs, durationMs } from './duration.js';
export type * as envoy from './envoy-types.js';
export type * from './messages.js';
export {
  adminPortFromNode,
  type GatewayNode,
  gatewayFromNode,
  META,
  metricsPortFromNode,
  nodeMetadataFor,
  workloadFromNode,
} from './node-metadata.js';
export { envoyRoot, parseEnvoyProtos } from './protos.js';
export * as types from './type-urls.js';
export { messageName } from './type-urls.js';
export {
  type EncodedResource,
  encodeDeltaResponse,
  encodeOnce,
  encodeSotwBody,
  withNonce,
} from './wire.js';
