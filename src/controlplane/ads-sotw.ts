/**
 * State-of-the-world ADS (StreamAggregatedResources). Every response carries the full set
 * of subscribed resources of its type; the client's next request ACKs (same nonce, no
 * error_detail) or NACKs it. A request with a stale nonce is ignored, a NACK is recorded
 * and never answered with the same configuration, and every change of subscribed names is
 * answered (grpc-js-xds waits for that answer).
 */
import { type DiscoveryRequest, types, withNonce } from '../xds/index.js';
import { AdsStream, type TypeState } from './ads-stream.js';
import { subscriptionKey } from './sotw-response-cache.js';

export class SotwStream extends AdsStream {
  readonly mode = 'sotw' as const;
  /** Per type: name -> version of what the last response carried. */
  private readonly sent = new Map<string, ReadonlyMap<string, string>>();

  protected hasResources(raw: object): boolean {
    // A client that was served before says which version it has.
    return Boolean((raw as { version_info?: string }).version_info);
  }

  protected handle(raw: object, typeUrl: string, state: TypeState): void {
    const req = raw as DiscoveryRequest;
    if (req.response_nonce) {
      // A request that answers an older response is stale: a newer one is in flight.
      if (req.response_nonce !== state.lastNonce) {
        this.staleNonce();
        return;
      }
      this.acknowledge(typeUrl, state, req.version_info ?? '', req.error_detail);
    }
    const names = req.resource_names ?? [];
    if (!this.withinNameLimit(typeUrl, names.length)) return;
    const firstRequest = !state.requested;
    // Legacy wildcard: an empty first request for LDS or CDS, kept while lists stay empty.
    const wildcard =
      names.includes('*') ||
      (names.length === 0 && types.isFullStateType(typeUrl) && (firstRequest || state.wildcard));
    const explicit = names.filter((n) => n !== '*');
    const changed =
      firstRequest ||
      wildcard !== state.wildcard ||
      explicit.length !== state.names.size ||
      explicit.some((n) => !state.names.has(n));
    if (!changed) return;
    state.requested = true;
    state.wildcard = wildcard;
    state.names.clear();
    for (const n of explicit) state.names.add(n);
    this.send(typeUrl, state, true);
  }

  push(): void {
    for (const [typeUrl, state] of this.types) {
      if (state.requested) this.send(typeUrl, state, false);
    }
  }

  private send(typeUrl: string, state: TypeState, force: boolean): void {
    const snapshot = this.snapshot();
    const set = snapshot.types.get(typeUrl);
    // The same type set object as last time means nothing of this type changed.
    if (!force && set !== undefined && set === state.lastSet) return;
    state.lastSet = set;
    if (force) state.subKey = subscriptionKey(state.wildcard, state.names);
    const body = this.ctx.sotwCache.body(
      set,
      typeUrl,
      snapshot.version,
      state.subKey,
      state.scope(set),
    );
    if (!force && sameVersions(this.sent.get(typeUrl), body.versions)) return;
    const nonce = this.nextNonce();
    this.sent.set(typeUrl, body.versions);
    state.lastNonce = nonce;
    state.lastSentVersion = snapshot.version;
    state.sentPublishedAt = snapshot.publishedAt;
    this.write(typeUrl, withNonce(body.bytes, nonce));
  }
}

function sameVersions(
  a: ReadonlyMap<string, string> | undefined,
  b: ReadonlyMap<string, string>,
): boolean {
  if (!a || a.size !== b.size) return false;
  for (const [k, v] of b) if (a.get(k) !== v) return false;
  return true;
}
