/**
 * Encoding and decoding of xDS messages and resources. Objects use the protos' own
 * snake_case field names, so translated resources read like Envoy's YAML.
 */
import type protobuf from 'protobufjs';
import type { Struct, Value } from './envoy-types.js';
import { messageType } from './protos.js';
import { messageName, TYPE_PREFIX } from './type-urls.js';

/** Options for turning decoded messages into plain objects (proto3 JSON-like). */
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  bytes: String,
  defaults: false,
  json: true,
};

/** Encodes a plain object as the message `fullName`. Throws when a field has a wrong type. */
export function encodeMessage(fullName: string, value: object): Uint8Array {
  const type = messageType(fullName);
  // verify() wants enums as numbers, so check the converted message, not the plain object.
  const message = type.fromObject(value);
  const problem = type.verify(message);
  if (problem) throw new Error(`${fullName}: ${problem}`);
  return type.encode(message).finish();
}

/** Decodes bytes of message `fullName` into a plain object (Any fields become `@type` objects). */
export function decodeMessage<T = Record<string, unknown>>(fullName: string, bytes: Uint8Array): T {
  const type = messageType(fullName);
  return type.toObject(type.decode(bytes), TO_OBJECT) as T;
}

/** Encodes a resource of the given type URL, e.g. a Cluster object for CDS. */
export function encodeResource(typeUrl: string, value: object): Uint8Array {
  return encodeMessage(messageName(typeUrl), value);
}

/** Decodes a resource's bytes by its type URL. */
export function decodeResource<T = Record<string, unknown>>(typeUrl: string, bytes: Uint8Array): T {
  return decodeMessage<T>(messageName(typeUrl), bytes);
}

/** Wraps a message object as a `google.protobuf.Any` in object form, for nested typed configs. */
export function typed(fullName: string, value: object): Record<string, unknown> {
  return { '@type': TYPE_PREFIX + fullName, ...value };
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Converts a decoded google.protobuf.Struct to plain JSON. (protobufjs brings its own
 * google/protobuf/struct.proto, whose value kinds are camelCase even with keepCase.)
 */
export function structToJson(struct: Struct | undefined): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = valueToJson(value);
  return out;
}

function valueToJson(v: Value): Json {
  if (v.stringValue !== undefined) return v.stringValue;
  // The codec's json option renders NaN and the infinities as strings; JSON has no such numbers.
  if (v.numberValue !== undefined) return typeof v.numberValue === 'number' ? v.numberValue : null;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue !== undefined) return structToJson(v.structValue);
  if (v.listValue !== undefined) return (v.listValue.values ?? []).map(valueToJson);
  return null;
}

/** Converts plain JSON to a google.protobuf.Struct in object form. */
export function jsonToStruct(json: Record<string, Json>): Struct {
  const fields: Record<string, Value> = {};
  for (const [key, value] of Object.entries(json)) fields[key] = jsonToValue(value);
  return { fields };
}

function jsonToValue(v: Json): Value {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v) };
}
