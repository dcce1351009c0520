/**
 * Incremental ADS (DeltaAggregatedResources). The server tracks which version of each
 * resource the client has and sends only what changed, with `removed_resources` for
 * what was deleted or does not exist. Subscriptions change with
 * resource_names_subscribe / _unsubscribe; `*` is the explicit wildcard.
 */
import {
  type DeltaDiscoveryRequest,
  type EncodedResource,
  encodeDeltaResponse,
  types,
} from '../xds/index.js';
import { AdsStream, type TypeState } from './ads-stream.js';

export class DeltaStream extends AdsStream {
  readonly mode = 'delta' as const;
  /** Per type: name -> version the client has (initial_resource_versions, then what we sent). */
  private readonly known = new Map<string, Map<string, string>>();

  protected hasResources(raw: object): boolean {
    const known = (raw as { initial_resource_versions?: Record<string, string> })
      .initial_resource_versions;
    return known !== undefined && Object.keys(known).length > 0;
  }

  protected handle(raw: object, typeUrl: string, state: TypeState): void {
    const req = raw as DeltaDiscoveryRequest;
    // A stale nonce only means the ACK is outdated; subscription changes still count.
    if (req.response_nonce) {
      if (req.response_nonce === state.lastNonce)
        this.acknowledge(typeUrl, state, state.lastSentVersion, req.error_detail);
      else this.staleNonce();
    }
    let known = this.known.get(typeUrl);
    if (!known) {
      const initial = Object.entries(req.initial_resource_versions ?? {});
      if (!this.withinNameLimit(typeUrl, initial.length)) return;
      known = new Map(initial);
      this.known.set(typeUrl, known);
    }
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    const firstRequest = !state.requested;
    state.requested = true;
    if (firstRequest && subscribe.length === 0 && types.isFullStateType(typeUrl)) {
      state.wildcard = true;
    }
    if (!this.withinNameLimit(typeUrl, state.names.size + subscribe.length)) return;
    const requested: string[] = [];
    for (const name of subscribe) {
      if (name === '*') state.wildcard = true;
      else if (!state.names.has(name)) {
        state.names.add(name);
        requested.push(name);
      }
    }
    for (const name of unsubscribe) {
      if (name === '*') state.wildcard = false;
      else {
        state.names.delete(name);
        known.delete(name);
      }
    }
    if (firstRequest || subscribe.length > 0) this.send(typeUrl, state, requested, firstRequest);
  }

  push(): void {
    const snapshot = this.snapshot();
    for (const [typeUrl, state] of this.types) {
      // The same type set object as last time means nothing of this type changed.
      const set = snapshot.types.get(typeUrl);
      if (state.requested && (set === undefined || set !== state.lastSet)) {
        this.send(typeUrl, state, [], false);
      }
    }
  }

  private send(typeUrl: string, state: TypeState, requested: string[], always: boolean): void {
    const snapshot = this.snapshot();
    const set = snapshot.types.get(typeUrl);
    state.lastSet = set;
    const known = this.known.get(typeUrl) ?? new Map<string, string>();
    const updated: EncodedResource[] = [];
    // A set: a client may ask for 100,000 names that do not exist, and a list searched for
    // each of them made this quadratic (issue 12: 50 s for one request).
    const removed = new Set<string>();
    const inScope = new Set<string>();
    for (const name of state.scope(set)) {
      inScope.add(name);
      const r = set?.byName.get(name);
      if (r) {
        if (known.get(name) !== r.version) updated.push(r);
      } else if (known.has(name)) {
        removed.add(name);
      }
    }
    // Names just asked for that do not exist: say so, so the client need not wait.
    for (const name of requested) {
      if (!set?.byName.has(name) && !known.has(name)) removed.add(name);
    }
    // Resources the client has that left the wildcard set (deleted).
    for (const name of known.keys()) {
      if (!inScope.has(name) && !set?.byName.has(name)) removed.add(name);
    }
    if (updated.length === 0 && removed.size === 0 && !always) return;
    for (const r of updated) known.set(r.name, r.version);
    for (const name of removed) known.delete(name);
    const nonce = this.nextNonce();
    const bytes = encodeDeltaResponse(
      snapshot.version,
      typeUrl,
      nonce,
      updated,
      [...removed],
      this.ctx.controlPlaneId,
    );
    state.lastNonce = nonce;
    state.lastSentVersion = snapshot.version;
    state.sentPublishedAt = snapshot.publishedAt;
    this.write(typeUrl, bytes);
  }
}
