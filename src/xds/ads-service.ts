/**
 * The gRPC definition of envoy.service.discovery.v3.AggregatedDiscoveryService, with
 * serializers built on the Envoy protos. Responses may be given pre-encoded (a
 * Uint8Array from ./wire.ts) so that a server encodes each response once.
 */
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { messageType } from './protos.js';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** Decoded messages keep bytes as Buffers and Any as { type_url, value }. */
const DECODE: import('protobufjs').IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: false,
};

function serializer(fullName: string): (value: object) => Buffer {
  return (value) => {
    if (value instanceof Uint8Array)
      return Buffer.from(value.buffer, value.byteOffset, value.length);
    const type = messageType(fullName);
    const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  };
}

function deserializer(fullName: string): (bytes: Buffer) => object {
  return (bytes) => {
    const type = messageType(fullName);
    return type.toObject(type.decode(bytes), DECODE);
  };
}

function method(
  name: string,
  request: string,
  response: string,
): grpc.MethodDefinition<object, object> {
  const req = `envoy.service.discovery.v3.${request}`;
  const res = `envoy.service.discovery.v3.${response}`;
  return {
    path: `/${SERVICE}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializer(req),
    requestDeserialize: deserializer(req),
    responseSerialize: serializer(res),
    responseDeserialize: deserializer(res),
    originalName: name,
  };
}

export const adsServiceDefinition: grpc.ServiceDefinition = {
  StreamAggregatedResources: method(
    'StreamAggregatedResources',
    'DiscoveryRequest',
    'DiscoveryResponse',
  ),
  DeltaAggregatedResources: method(
    'DeltaAggregatedResources',
    'DeltaDiscoveryRequest',
    'DeltaDiscoveryResponse',
  ),
};

/** A client for the ADS service (used by the sidecar, tests and benchmarks). */
export interface AdsClient extends grpc.Client {
  StreamAggregatedResources(options?: grpc.CallOptions): grpc.ClientDuplexStream<object, object>;
  DeltaAggregatedResources(options?: grpc.CallOptions): grpc.ClientDuplexStream<object, object>;
}

const AdsClientConstructor = grpc.makeGenericClientConstructor(adsServiceDefinition, SERVICE);

/**
 * Channel options for a control-plane address: over TLS to an IP literal, the TLS server
 * name is set to `localhost` (on the control plane's certificate; its identity is checked by
 * SPIFFE ID, not by name), since a server name may not be an IP address (RFC 6066).
 */
export function controlPlaneChannelOptions(
  address: string,
  credentials: grpc.ChannelCredentials,
): grpc.ChannelOptions {
  const host = address.startsWith('[')
    ? address.slice(1, address.indexOf(']'))
    : address.split(':')[0];
  return credentials._isSecure() && isIP(host) !== 0
    ? { 'grpc.ssl_target_name_override': 'localhost' }
    : {};
}

export function createAdsClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): AdsClient {
  return new AdsClientConstructor(address, credentials, {
    ...controlPlaneChannelOptions(address, credentials),
    ...options,
  }) as unknown as AdsClient;
}
