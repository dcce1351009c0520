/**
 * Checks a resource object against the Envoy protos more strictly than protobufjs's
 * verify: every field name must exist in its message (fromObject drops unknown ones
 * silently), every enum value must be one of its names, scalars must have their type, a
 * oneof may have one member set, and `Any` objects are followed into their `@type`.
 * A resource that passes is real Envoy configuration, field for field. It checks against the
 * .proto files themselves (envoy-protos.ts).
 */
import type protobuf from 'protobufjs';
import { fullEnvoyRoot, fullMessageType } from './envoy-protos.js';

const INTEGER_TYPES = new Set(['int32', 'sint32', 'sfixed32', 'uint32', 'fixed32']);
const LONG_TYPES = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function checkScalar(type: string, value: unknown, path: string, out: string[]): void {
  const fail = (what: string) =>
    out.push(`${path}: ${what} expected, got ${JSON.stringify(value)}`);
  if (type === 'string') {
    if (typeof value !== 'string') fail('string');
  } else if (type === 'bool') {
    if (typeof value !== 'boolean') fail('boolean');
  } else if (type === 'double' || type === 'float') {
    if (typeof value !== 'number') fail('number');
  } else if (INTEGER_TYPES.has(type)) {
    if (typeof value !== 'number' || !Number.isInteger(value)) fail('integer');
    else if (type.startsWith('u') || type === 'fixed32') {
      if (value < 0 || value > 0xffffffff) fail('uint32');
    }
  } else if (LONG_TYPES.has(type)) {
    const ok =
      (typeof value === 'number' && Number.isInteger(value)) ||
      (typeof value === 'string' && /^-?\d+$/.test(value));
    if (!ok) fail('64-bit integer');
  } else if (type === 'bytes') {
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) fail('bytes');
  } else {
    out.push(`${path}: unhandled scalar type ${type}`);
  }
}

function checkValue(field: protobuf.Field, value: unknown, path: string, out: string[]): void {
  const resolved = field.resolvedType;
  if (value === undefined || value === null) {
    out.push(`${path}: ${String(value)} value`);
  } else if (resolved && 'fieldsArray' in resolved) {
    checkMessage(resolved as protobuf.Type, value, path, out);
  } else if (resolved && 'values' in resolved) {
    const names = (resolved as protobuf.Enum).values;
    const ok =
      typeof value === 'string' ? value in names : Object.values(names).includes(value as number);
    if (!ok)
      out.push(`${path}: ${JSON.stringify(value)} is not a value of enum ${resolved.fullName}`);
  } else {
    checkScalar(field.type, value, path, out);
  }
}

function checkMessage(type: protobuf.Type, value: unknown, path: string, out: string[]): void {
  if (!isPlainObject(value)) {
    out.push(`${path}: object expected for ${type.fullName}, got ${JSON.stringify(value)}`);
    return;
  }
  if (type.fullName === '.google.protobuf.Any' && '@type' in value) {
    const { '@type': typeUrl, ...rest } = value;
    if (typeof typeUrl !== 'string' || !typeUrl.startsWith('type.googleapis.com/')) {
      out.push(`${path}: bad @type ${JSON.stringify(typeUrl)}`);
      return;
    }
    const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    let inner: protobuf.Type;
    try {
      inner = fullEnvoyRoot().lookupType(name);
    } catch {
      out.push(`${path}: @type ${name} is not a loaded message`);
      return;
    }
    checkMessage(inner, rest, `${path}<${name}>`, out);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const field = Object.hasOwn(type.fields, key) ? type.fields[key] : undefined;
    const at = `${path}.${key}`;
    if (!field) {
      out.push(`${at}: no field ${key} in ${type.fullName}`);
      continue;
    }
    if (field.map) {
      if (!isPlainObject(v)) out.push(`${at}: map expected`);
      else for (const [k, entry] of Object.entries(v)) checkValue(field, entry, `${at}[${k}]`, out);
    } else if (field.repeated) {
      if (!Array.isArray(v)) out.push(`${at}: array expected`);
      else for (const [i, entry] of v.entries()) checkValue(field, entry, `${at}[${i}]`, out);
    } else {
      checkValue(field, v, at, out);
    }
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => name in value);
    if (set.length > 1) out.push(`${path}: oneof ${oneof.name} has ${set.join(' and ')}`);
  }
}

/** Everything about `value` that is not a valid `fullName` message in object form. */
export function protoProblems(fullName: string, value: object): string[] {
  const out: string[] = [];
  checkMessage(fullMessageType(fullName), value, fullName, out);
  return out;
}
