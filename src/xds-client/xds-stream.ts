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
  /**
   * A response arrived. Returns `undefined` to ACK it, or the message to NACK it with; or a
   * promise of either when the answer waits for the consumer (the workers of a primary
   * applying it): the stream then holds later responses until this one is answered, so
   * they are ACKed in the order they came.
   */
  onResponse(update: ReceivedUpdate): ResponseOutcome;
  /** The stream ended (any status; the client decides to reconnect). */
  onEnd(status: { readonly code: number; readonly details: string }): void;
}

export type ResponseOutcome = string | undefined | Promise<string | undefined>;

/**
 * Runs a stream's response handlers one after another: synchronously while none is
 * waiting (the usual case: no promise, no allocation), else chained behind the one that is.
 */
export class ResponseQueue {
  private tail: Promise<void> | undefined;

  run(handle: () => void | Promise<void>): void {
    if (this.tail === undefined) {
      const waiting = handle();
      if (waiting !== undefined) this.track(waiting);
      return;
    }
    this.track(this.tail.then(handle));
  }

  private track(waiting: Promise<void>): void {
    const tail: Promise<void> = waiting
      .catch(() => undefined)
      .then(() => {
        if (this.tail === tail) this.tail = undefined;
      });
    this.tail = tail;
  }
}

/** Calls `answer` with the outcome: at once, or when the consumer settles it. */
export function whenAnswered(
  outcome: ResponseOutcome,
  answer: (error: string | undefined) => void,
): void | Promise<void> {
  if (typeof outcome === 'object') return outcome.then(answer);
  answer(outcome);
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
