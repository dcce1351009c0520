/**
 * google.protobuf.Any as the codec decodes it: `{ '@type', ...fields }` when the message type
 * is among the loaded protos (protobufjs's JSON form), otherwise `{ type_url, value }` with
 * the bytes left undecoded.
 * https://protobuf.dev/programming-guides/proto3/#json (Any)
 */
import type { Any, Typed } from './envoy-types.js';

/** The type URL of a decoded Any whose message was decoded; undefined when it was not. */
export function anyType(a: Any | null | undefined): string | undefined {
  return a && '@type' in a ? a['@type'] : undefined;
}

/** The type URL of a decoded Any, decoded or not (for error messages). */
export function anyTypeUrl(a: Any | null | undefined): string | undefined {
  if (!a) return undefined;
  return '@type' in a ? a['@type'] : a.type_url;
}

/** The message in a decoded Any when it is of type `typeUrl`, else undefined. */
export function unpackAny<T>(a: Any | null | undefined, typeUrl: string): Typed<T> | undefined {
  return anyType(a) === typeUrl ? (a as unknown as Typed<T>) : undefined;
}
