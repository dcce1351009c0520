/**
 * Encoding and decoding of xDS messages and resources. Objects use the protos' own
 * snake_case field names, so translated resources read like Envoy's YAML.
 */
import type protobuf from 'protobufjs';
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
  const problem = type.verify(value);
  if (problem) throw new Error(`${fullName}: ${problem}`);
  return type.encode(type.fromObject(value)).finish();
}

/** Decodes bytes of message `fullName` into a plain object (Any fields become `@type` objects). */
export function decodeMessage<T = Record<string, unknown>>(
  fullName: string,
  bytes: Uint8Array,
): T {
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

/** A google.protobuf.Duration in object form. */
export interface Duration {
  seconds?: number | string;
  nanos?: number;
}

export function durationFromMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos ? { seconds, nanos } : { seconds };
}

export function msFromDuration(d: Duration | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6;
}

/** A google.protobuf.Value / Struct in the object form protobufjs decodes to. */
export interface ProtoValue {
  null_value?: unknown;
  number_value?: number;
  string_value?: string;
  bool_value?: boolean;
  struct_value?: ProtoStruct;
  list_value?: { values?: ProtoValue[] };
}
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Converts a decoded google.protobuf.Struct to plain JSON. */
export function structToJson(struct: ProtoStruct | undefined): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = valueToJson(value);
  return out;
}

function valueToJson(v: ProtoValue): Json {
  if (v.string_value !== undefined) return v.string_value;
  if (v.number_value !== undefined) return v.number_value;
  if (v.bool_value !== undefined) return v.bool_value;
  if (v.struct_value !== undefined) return structToJson(v.struct_value);
  if (v.list_value !== undefined) return (v.list_value.values ?? []).map(valueToJson);
  return null;
}

/** Converts plain JSON to a google.protobuf.Struct in object form. */
export function jsonToStruct(json: Record<string, Json>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(json)) fields[key] = jsonToValue(value);
  return { fields };
}

function jsonToValue(v: Json): ProtoValue {
  if (v === null) return { null_value: 'NULL_VALUE' };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(jsonToValue) } };
  return { struct_value: jsonToStruct(v) };
}
