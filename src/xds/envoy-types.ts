/**
 * The Envoy messages Ferry reads, as the objects src/xds/codec.ts decodes them into. Each
 * type is the `__Output` type that the build generates from the protos themselves
 * (tools/generate-proto-types.mjs, into src/xds/generated/), under a short name: snake_case
 * fields, all optional (proto3 leaves defaults out), 64-bit integers as numbers, enums by
 * name, bytes as base64, wrappers as `{ value }`, google.protobuf.Any as `{ '@type', ... }`
 * when its type is known, google.protobuf.Struct with protobufjs's camelCase value kinds.
 * Unlike the hand-written mirrors they replace, they cannot drift from the protos. One thing
 * they do not show: an enum number the protos do not name stays a number (protobufjs keeps it),
 * so code that reports unknown values reads an enum field as `string | number`.
 */
// The short names of src/xds/envoy-type-names.json; add a name there to read another message.
export type * from './generated/envoy.js';

/**
 * A message as it arrives in a google.protobuf.Any (a typed_config, a typed_per_filter_config
 * value): its fields, and its `@type` when it came in an Any rather than on its own.
 */
export type Typed<T> = T & { readonly '@type'?: string };
