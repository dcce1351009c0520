/**
 * The one small interface behind which the two ADS variants (state of the world and
 * delta) live. A stream turns what the client wants into discovery requests, and
 * responses into `ReceivedUpdate`s; the client decides whether to accept each one and the
 * stream ACKs or NACKs it accordingly.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
 */
import type * as grpc from '@grpc/grpc-js';
import type { AnyMessage, Node } from '../xds/index.js';

/** What the client wants of one resource type: every resource (wildcard), or these names. */
export type Want = '*' | ReadonlySet<string>;

export interface ReceivedResource {
  /** Delta: the name the server gives. SotW resources are named by their content. */
  readonly name: string | undefined;
  /** Delta: the resource's version; SotW: the response's `version_info`. */
  readonly version: string;
  readonly any: AnyMessage | undefined;
}

/** One discovery response, in the terms both variants share. */
export interface ReceivedUpdate {
  readonly typeUrl: string;
  /** SotW `version_info` / delta `system_version_info`. */
  readonly version: string;
  readonly nonce: string;
  readonly resources: readonly ReceivedResource[];
  /** Names the server says are gone or do not exist (delta `removed_resources`). */
  readonly removed: readonly string[];
  /**
   * SotW only: the response is the whole state of this scope (what the client asked
   * for); whatever in the scope it leaves out is gone or does not exist.
   */
  readonly scope: Want | undefined;
}

export interface StreamEvents {
  /** A response arrived. Returns `undefined` to ACK it, or the message to NACK it with. */
  onResponse(update: ReceivedUpdate): string | undefined;
  /** The stream ended (any status; the client decides to reconnect). */
  onEnd(status: { readonly code: number; readonly details: string }): void;
}

export interface StreamParams {
  readonly call: grpc.ClientDuplexStream<object, object>;
  /** Sent once, in the first request of the stream. */
  readonly node: Node;
  readonly events: StreamEvents;
  /**
   * Delta: the versions of what the client already has of a type, sent as
   * `initial_resource_versions` in the stream's first request of that type.
   */
  readonly versionsOf: (typeUrl: string) => Record<string, string>;
}

export interface XdsStream {
  /** Sets what to ask for of a type; sends a request only when that changes. */
  want(typeUrl: string, want: Want): void;
  /** Cancels the call; no event follows. */
  close(): void;
}

export function sameWant(a: Want | undefined, b: Want): boolean {
  if (a === undefined) return false;
  if (a === '*' || b === '*') return a === b;
  if (a.size !== b.size) return false;
  for (const name of b) if (!a.has(name)) return false;
  return true;
}
