/**
 * The gRPC call plumbing both ADS variants share: the node goes in the first request
 * only (a Ferry control plane re-registers the workload on every request that carries
 * node metadata), nothing is written after the call ended, and the end is reported once.
 */
import type { StatusObject } from '@grpc/grpc-js';
import type { StreamParams } from './xds-stream.js';

export class StreamCall {
  private closed = false;
  private nodeSent = false;

  constructor(
    private readonly params: StreamParams,
    onMessage: (message: object) => void,
  ) {
    const { call, events } = params;
    call.on('data', (message: object) => {
      if (!this.closed) onMessage(message);
    });
    // Every end, error or not, is reported by 'status'; without a listener 'error' would throw.
    call.on('error', () => {});
    call.on('status', (status: StatusObject) => {
      if (this.closed) return;
      this.closed = true;
      events.onEnd({ code: status.code, details: status.details });
    });
  }

  send(request: object): void {
    if (this.closed) return;
    if (!this.nodeSent) {
      this.nodeSent = true;
      this.params.call.write({ node: this.params.node, ...request });
    } else {
      this.params.call.write(request);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.params.call.cancel();
  }
}
