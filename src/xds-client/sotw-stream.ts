/**
 * State-of-the-world ADS (StreamAggregatedResources). Every request of a type carries the
 * complete list of names wanted (empty for the LDS/CDS wildcard, as Envoy and gRPC send
 * it), the `version_info` last accepted and the nonce of the last response seen. Each
 * response is the whole state of what the server was asked for, so it is handed on with
 * that scope: whatever the scope holds that the response leaves out is gone (LDS/CDS) or
 * does not exist (RDS/EDS).
 *
 * Which names a response answers is not always known: a request sent after one response
 * may cross the server's next push, and the server ignores it as stale (then answers it
 * after the ACK of that push). So the scope of a response is only the names that were
 * already asked for when the previous response arrived (or in the stream's first request
 * of the type, which is never stale); a name asked for later counts from the response
 * after. Otherwise a crossing push would make a new, existing resource look missing.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#ack-nack-and-resource-type-instance-version
 */
import type { DiscoveryRequest, DiscoveryResponse } from '../xds/index.js';
import { StreamCall } from './stream-call.js';
import type { StreamParams, Want, XdsStream } from './xds-stream.js';
import { ResponseQueue, sameWant, whenAnswered } from './xds-stream.js';

const INVALID_ARGUMENT = 3;

export class SotwStream implements XdsStream {
  private readonly call: StreamCall;
  /** Responses answered in order (one may wait for the consumer's workers). */
  private readonly queue = new ResponseQueue();
  /** Per type: what the last request asked for. */
  private readonly asked = new Map<string, Want>();
  /** Per type: what the server has surely seen asked for (see above). */
  private readonly seen = new Map<string, Want>();
  /** Per type: the nonce of the last response, and the version_info last accepted. */
  private readonly nonces = new Map<string, string>();
  private readonly versions = new Map<string, string>();

  constructor(private readonly params: StreamParams) {
    this.call = new StreamCall(params, (message) =>
      this.queue.run(() => this.receive(message as DiscoveryResponse)),
    );
  }

  want(typeUrl: string, want: Want): void {
    const before = this.asked.get(typeUrl);
    if (sameWant(before, want)) return;
    // Nothing asked of a named type yet and still nothing to ask: no request.
    if (before === undefined && want !== '*' && want.size === 0) return;
    if (before === undefined) this.seen.set(typeUrl, want);
    this.asked.set(typeUrl, want);
    this.request(typeUrl, undefined);
  }

  close(): void {
    this.call.close();
  }

  private receive(res: DiscoveryResponse): void | Promise<void> {
    const typeUrl = res.type_url ?? '';
    const version = res.version_info ?? '';
    const nonce = res.nonce ?? '';
    this.nonces.set(typeUrl, nonce);
    const asked = this.asked.get(typeUrl);
    const scope = asked && intersection(asked, this.seen.get(typeUrl));
    if (asked) this.seen.set(typeUrl, asked);
    const outcome = this.params.events.onResponse({
      typeUrl,
      version,
      nonce,
      resources: (res.resources ?? []).map((any) => ({ name: undefined, version, any })),
      removed: [],
      scope,
    });
    return whenAnswered(outcome, (error) => {
      if (error === undefined) this.versions.set(typeUrl, version);
      this.request(typeUrl, error);
    });
  }

  /** A request for a type: a subscription change, an ACK, or (with `error`) a NACK. */
  private request(typeUrl: string, error: string | undefined): void {
    const want = this.asked.get(typeUrl) ?? new Set<string>();
    const request: DiscoveryRequest = {
      type_url: typeUrl,
      resource_names: want === '*' ? [] : [...want].sort(),
      // On a new stream, the version last accepted on an earlier one: the server learns that
      // this client is reconnecting with a config in hand (as Envoy does).
      version_info: this.versions.get(typeUrl) ?? lastVersion(this.params.versionsOf(typeUrl)),
      response_nonce: this.nonces.get(typeUrl) ?? '',
    };
    if (error !== undefined) request.error_detail = { code: INVALID_ARGUMENT, message: error };
    this.call.send(request);
  }
}

/** The version every resource of a SotW response shares, or '' when there is none. */
function lastVersion(versions: Record<string, string>): string {
  for (const name in versions) return versions[name];
  return '';
}

/** What a response answers: the wildcard, or the names both asked now and seen before. */
function intersection(asked: Want, seen: Want | undefined): Want {
  if (asked === '*' || seen === '*') return asked;
  if (seen === undefined) return new Set();
  return new Set([...asked].filter((name) => seen.has(name)));
}

export function openSotwStream(params: StreamParams): XdsStream {
  return new SotwStream(params);
}
