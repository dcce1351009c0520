/**
 * Incremental ADS (DeltaAggregatedResources). Subscriptions change by difference
 * (`resource_names_subscribe` / `_unsubscribe`); the stream's first request of a type
 * carries `initial_resource_versions`, so after a reconnect the server sends only what
 * changed meanwhile. LDS and CDS use the legacy wildcard (an empty first subscribe), which
 * every server understands. Each response is ACKed or NACKed by its nonce.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds
 */
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../xds/index.js';
import { StreamCall } from './stream-call.js';
import type { StreamParams, Want, XdsStream } from './xds-stream.js';
import { ResponseQueue, sameWant, whenAnswered } from './xds-stream.js';

const INVALID_ARGUMENT = 3;

export class DeltaStream implements XdsStream {
  private readonly call: StreamCall;
  /** Responses answered in order (one may wait for the consumer's workers). */
  private readonly queue = new ResponseQueue();
  /** Per type: what the server has been asked for so far on this stream. */
  private readonly subscribed = new Map<string, Want>();

  constructor(private readonly params: StreamParams) {
    this.call = new StreamCall(params, (message) =>
      this.queue.run(() => this.receive(message as DeltaDiscoveryResponse)),
    );
  }

  want(typeUrl: string, want: Want): void {
    const before = this.subscribed.get(typeUrl);
    if (sameWant(before, want)) return;
    if (before === undefined) {
      if (want !== '*' && want.size === 0) return;
      this.subscribed.set(typeUrl, want);
      this.call.send({
        type_url: typeUrl,
        resource_names_subscribe: want === '*' ? [] : [...want].sort(),
        initial_resource_versions: this.params.versionsOf(typeUrl),
      } satisfies DeltaDiscoveryRequest);
      return;
    }
    this.subscribed.set(typeUrl, want);
    this.call.send({
      type_url: typeUrl,
      resource_names_subscribe: difference(want, before),
      resource_names_unsubscribe: difference(before, want),
    } satisfies DeltaDiscoveryRequest);
  }

  close(): void {
    this.call.close();
  }

  private receive(res: DeltaDiscoveryResponse): void | Promise<void> {
    const typeUrl = res.type_url ?? '';
    const nonce = res.nonce ?? '';
    const outcome = this.params.events.onResponse({
      typeUrl,
      version: res.system_version_info ?? '',
      nonce,
      resources: (res.resources ?? []).map((r) => ({
        name: r.name,
        version: r.version ?? '',
        any: r.resource,
      })),
      removed: res.removed_resources ?? [],
      scope: undefined,
    });
    return whenAnswered(outcome, (error) => {
      const request: DeltaDiscoveryRequest = { type_url: typeUrl, response_nonce: nonce };
      if (error !== undefined) request.error_detail = { code: INVALID_ARGUMENT, message: error };
      this.call.send(request);
    });
  }
}

/** Names in `a` and not in `b`; the wildcard counts as the name `*`. */
function difference(a: Want, b: Want): string[] {
  if (a === '*') return b === '*' ? [] : ['*'];
  if (b === '*') return [...a].sort();
  return [...a].filter((name) => !b.has(name)).sort();
}

export function openDeltaStream(params: StreamParams): XdsStream {
  return new DeltaStream(params);
}
