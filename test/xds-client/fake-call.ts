/** A stand-in for a gRPC duplex call: records what is written, and lets a test reply. */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { ReceivedUpdate, StreamEvents } from '../../src/xds-client/xds-stream.js';

export class FakeCall extends EventEmitter {
  readonly written: Array<Record<string, unknown>> = [];
  cancelled = false;

  write(message: object): boolean {
    this.written.push(message as Record<string, unknown>);
    return true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  /** A response from the server. */
  reply(message: object): void {
    this.emit('data', message);
  }

  end(code: number, details: string): void {
    this.emit('status', { code, details, metadata: undefined });
  }

  asCall(): grpc.ClientDuplexStream<object, object> {
    return this as unknown as grpc.ClientDuplexStream<object, object>;
  }
}

/** Stream events that record updates and answer each with `verdict`. */
export function recordingEvents(
  verdict: (u: ReceivedUpdate) => string | undefined = () => undefined,
) {
  const updates: ReceivedUpdate[] = [];
  const ends: Array<{ code: number; details: string }> = [];
  const events: StreamEvents = {
    onResponse: (u) => {
      updates.push(u);
      return verdict(u);
    },
    onEnd: (s) => ends.push(s),
  };
  return { events, updates, ends };
}
