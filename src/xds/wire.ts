/**
 * Hand-assembled discovery responses. A control plane sends the same resources to many
 * clients, so each resource is encoded once (as an `Any`, and for delta xDS as a
 * `Resource`) and every response is put together from those bytes; only the nonce and
 * versions differ per client. Field numbers are those of envoy/service/discovery/v3/
 * discovery.proto.
 */
import protobuf from 'protobufjs';
import { encodeResource } from './codec.js';

/** Wire type 2 (length-delimited) tag for field `n`. */
const tag = (n: number) => (n << 3) | 2;

/** One resource, encoded once and shared by every response that carries it. */
export interface EncodedResource {
  readonly name: string;
  readonly typeUrl: string;
  /** Hash of the serialized resource: its delta xDS version. */
  readonly version: string;
  /** The resource as a plain object (for config dumps and tests). */
  readonly value: object;
  /** google.protobuf.Any { type_url, value }. */
  readonly any: Uint8Array;
  /** envoy.service.discovery.v3.Resource { version, resource, name }. */
  readonly deltaResource: Uint8Array;
}

/** Encodes a resource object once, computing its content hash version. */
export function encodeOnce(
  typeUrl: string,
  name: string,
  value: object,
  hash: (bytes: Uint8Array) => string,
): EncodedResource {
  const bytes = encodeResource(typeUrl, value);
  const version = hash(bytes);
  const any = protobuf.Writer.create()
    .uint32(tag(1))
    .string(typeUrl)
    .uint32(tag(2))
    .bytes(bytes)
    .finish();
  const deltaResource = protobuf.Writer.create()
    .uint32(tag(1))
    .string(version)
    .uint32(tag(2))
    .bytes(any)
    .uint32(tag(3))
    .string(name)
    .finish();
  return { name, typeUrl, version, value, any, deltaResource };
}

/**
 * A DiscoveryResponse without its nonce. Many clients get the same resources; the body is
 * encoded once and each client's nonce appended (protobuf fields may come in any order).
 */
export function encodeSotwBody(
  versionInfo: string,
  typeUrl: string,
  resources: Iterable<EncodedResource>,
  controlPlaneId: string,
): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(tag(1)).string(versionInfo);
  for (const r of resources) w.uint32(tag(2)).bytes(r.any);
  w.uint32(tag(4)).string(typeUrl);
  w.uint32(tag(6)).fork().uint32(tag(1)).string(controlPlaneId).ldelim();
  return w.finish();
}

/** Completes a body from encodeSotwBody with the response's nonce (field 5). */
export function withNonce(body: Uint8Array, nonce: string): Buffer {
  const field = protobuf.Writer.create().uint32(tag(5)).string(nonce).finish();
  const out = Buffer.allocUnsafe(body.length + field.length);
  out.set(body, 0);
  out.set(field, body.length);
  return out;
}

/** envoy.service.discovery.v3.DeltaDiscoveryResponse. */
export function encodeDeltaResponse(
  systemVersion: string,
  typeUrl: string,
  nonce: string,
  resources: Iterable<EncodedResource>,
  removed: Iterable<string>,
  controlPlaneId: string,
): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(tag(1)).string(systemVersion);
  for (const r of resources) w.uint32(tag(2)).bytes(r.deltaResource);
  w.uint32(tag(4)).string(typeUrl);
  w.uint32(tag(5)).string(nonce);
  for (const name of removed) w.uint32(tag(6)).string(name);
  w.uint32(tag(7)).fork().uint32(tag(1)).string(controlPlaneId).ldelim();
  return w.finish();
}
