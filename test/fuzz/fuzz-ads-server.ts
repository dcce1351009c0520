/**
 * A state-of-the-world ADS server (real gRPC on 127.0.0.1) the xDS fuzzer controls: it
 * serves whatever resources it is given per type, pushes a new set to every subscribed
 * stream, and tells the test how the client answered each push (ACK, or NACK with its
 * message), which the client must always do.
 */
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, type DiscoveryRequest, type Node } from '../../src/xds/index.js';
import { waitFor } from '../support/wait-for.js';

export interface AnyResource {
  readonly type_url: string;
  readonly value: Uint8Array;
}

export type Reply = { readonly ack: true } | { readonly ack: false; readonly error: string };

type Call = grpc.ServerDuplexStream<object, object>;

export class FuzzAdsServer {
  private readonly server = new grpc.Server();
  private readonly resources = new Map<string, readonly AnyResource[]>();
  private readonly calls = new Map<Call, Map<string, string>>();
  private readonly replies = new Map<string, Reply>();
  private version = 0;
  private nonce = 0;
  port = 0;
  /** Called with the node of each new stream before it is answered (to set its resources). */
  onNode: ((node: Node) => void) | undefined;

  async start(): Promise<void> {
    this.server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: Call) => this.serve(call),
      DeltaAggregatedResources: (call: Call) =>
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'state of the world only' }),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
  }

  /** Sets the resources of a type without pushing them. */
  set(typeUrl: string, resources: readonly AnyResource[]): void {
    this.resources.set(typeUrl, resources);
  }

  /** Sets the resources of a type and pushes them to every stream subscribed to it; the nonces sent. */
  push(typeUrl: string, resources: readonly AnyResource[]): string[] {
    this.resources.set(typeUrl, resources);
    this.version++;
    const nonces: string[] = [];
    for (const [call, subscribed] of this.calls)
      if (subscribed.has(typeUrl)) nonces.push(this.send(call, typeUrl));
    return nonces;
  }

  /** How the client answered the push with this nonce; fails after `ms`. */
  async reply(nonce: string, ms: number): Promise<Reply> {
    await waitFor(
      `the client's ACK or NACK of push ${nonce}`,
      () => this.replies.has(nonce),
      ms,
      2,
    );
    const r = this.replies.get(nonce)!;
    this.replies.delete(nonce);
    return r;
  }

  close(): void {
    this.server.forceShutdown();
  }

  private serve(call: Call): void {
    const subscribed = new Map<string, string>();
    this.calls.set(call, subscribed);
    call.on('data', (raw: object) => {
      const req = raw as DiscoveryRequest;
      if (req.node && this.onNode) this.onNode(req.node);
      const typeUrl = req.type_url ?? '';
      if (req.response_nonce)
        this.replies.set(
          req.response_nonce,
          req.error_detail ? { ack: false, error: req.error_detail.message ?? '' } : { ack: true },
        );
      // A new subscription, or a change in the names: answer it with what there is.
      const names = (req.resource_names ?? []).join('\n');
      if (subscribed.get(typeUrl) !== names) {
        subscribed.set(typeUrl, names);
        if (this.resources.has(typeUrl)) this.send(call, typeUrl);
      }
    });
    call.on('error', () => undefined);
    call.on('close', () => this.calls.delete(call));
    call.on('end', () => {
      this.calls.delete(call);
      call.end();
    });
  }

  private send(call: Call, typeUrl: string): string {
    const nonce = String(++this.nonce);
    call.write({
      version_info: String(this.version),
      type_url: typeUrl,
      nonce,
      resources: this.resources.get(typeUrl) ?? [],
    });
    return nonce;
  }
}
