/** xDS v3: protos, type URLs, resource encoding and the ADS service definition. */
export {
  type AdsClient,
  adsServiceDefinition,
  controlPlaneChannelOptions,
  createAdsClient,
} from './ads-service.js';
export {
  type Duration,
  decodeMessage,
  decodeResource,
  durationFromMs,
  encodeMessage,
  encodeResource,
  type Json,
  jsonToStruct,
  msFromDuration,
  type ProtoStruct,
  structToJson,
  typed,
} from './codec.js';
export type * from './messages.js';
export {
  adminPortFromNode,
  META,
  metricsPortFromNode,
  nodeMetadataFor,
  type WorkloadResult,
  workloadFromNode,
} from './node-metadata.js';
export { envoyRoot, messageType, parseEnvoyProtos, protoIncludeDirs } from './protos.js';
export * as types from './type-urls.js';
export {
  type EncodedResource,
  encodeDeltaResponse,
  encodeOnce,
  encodeSotwBody,
  withNonce,
} from './wire.js';
