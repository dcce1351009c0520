/**
 * Who is on the other end of a request, for Istio's metrics, from what the control plane
 * says and never from what a peer says about itself:
 * - the callee (source reporter): the picked host's EDS metadata, `istio.workload`
 *   (`<workload>;<namespace>;<canonical service>;<canonical revision>;<cluster>`, Istio's
 *   format) and `ferry` (app, version, principal); its principal counts only when the
 *   connection to it is mTLS, as Istio reads destination_principal from the peer certificate;
 * - the caller (destination reporter): its VERIFIED SPIFFE ID (mTLS) and source address,
 *   looked up among every endpoint the sidecar knows from EDS. A plaintext caller stays
 *   `unknown`, as in Istio. When one identity runs several workloads at one address (two
 *   versions behind one service account on one machine), the labels they share are kept and
 *   the others are `unknown`, rather than a guess.
 * Everything is worked out when a configuration is applied; a request costs one or two map
 * lookups.
 */
import { isIPv4 } from 'node:net';
import { type envoy, structToJson } from '../../xds/index.js';
import { TLS_PEER } from '../tls/index.js';

export const UNKNOWN = 'unknown';

/** One side's workload labels, as Istio's `source_*` / `destination_*` carry them. */
export interface PeerWorkload {
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
  readonly version: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  readonly cluster: string;
  readonly principal: string;
}

export const UNKNOWN_PEER: PeerWorkload = Object.freeze({
  workload: UNKNOWN,
  namespace: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: UNKNOWN,
  cluster: UNKNOWN,
  principal: UNKNOWN,
});

const FIELDS = Object.keys(UNKNOWN_PEER) as (keyof PeerWorkload)[];

/** The workload an endpoint's EDS metadata names; UNKNOWN_PEER when it names none. */
export function endpointPeer(metadata: object | undefined, secure: boolean): PeerWorkload {
  const m = (metadata as envoy.Metadata | undefined)?.filter_metadata;
  const workload = m?.istio?.fields?.workload?.stringValue;
  if (!workload) return UNKNOWN_PEER;
  const [name, namespace, canonicalService, canonicalRevision, cluster] = workload.split(';');
  const ferry = structToJson(m?.ferry);
  const text = (v: unknown, fallback: string | undefined) =>
    (typeof v === 'string' && v) || fallback || UNKNOWN;
  return Object.freeze({
    workload: name || UNKNOWN,
    namespace: namespace || UNKNOWN,
    app: text(ferry.app, canonicalService),
    version: text(ferry.version, canonicalRevision),
    canonicalService: canonicalService || UNKNOWN,
    canonicalRevision: canonicalRevision || UNKNOWN,
    cluster: cluster || UNKNOWN,
    principal: secure ? text(ferry.principal, undefined) : UNKNOWN,
  });
}

/** The labels every one of `peers` agrees on; `unknown` where they differ. */
function common(peers: readonly PeerWorkload[]): PeerWorkload {
  if (peers.length === 1) return peers[0];
  const out = {} as Record<keyof PeerWorkload, string>;
  for (const f of FIELDS) {
    const v = peers[0][f];
    out[f] = peers.every((p) => p[f] === v) ? v : UNKNOWN;
  }
  return Object.freeze(out);
}

/** The namespace in spiffe://<td>/ns/<ns>/sa/<sa>. */
export function namespaceOf(principal: string): string {
  const at = principal.indexOf('/ns/');
  if (at < 0) return UNKNOWN;
  const end = principal.indexOf('/', at + 4);
  return principal.slice(at + 4, end < 0 ? undefined : end);
}

/** `::ffff:10.0.0.1` (a dual-stack listener's IPv4 peer) as `10.0.0.1`. */
function plainAddress(address: string | undefined): string | undefined {
  if (address?.startsWith('::ffff:')) {
    const v4 = address.slice(7);
    if (isIPv4(v4)) return v4;
  }
  return address;
}

/** The remote address of a request (HTTP/1.1 or HTTP/2) or a socket. */
export function remoteAddress(downstream: unknown): string | undefined {
  const d = downstream as {
    stream?: { session?: { [TLS_PEER]?: { remoteAddress?: string } } };
    socket?: { remoteAddress?: string };
    remoteAddress?: string;
  };
  const session = d?.stream?.session;
  const address = session
    ? session[TLS_PEER]?.remoteAddress
    : (d?.socket?.remoteAddress ?? d?.remoteAddress);
  return plainAddress(address);
}

interface PrincipalEntry {
  /** What every workload of the principal shares. */
  readonly any: PeerWorkload;
  /** Per address, when the principal runs at more than one; else undefined. */
  readonly byAddress: ReadonlyMap<string, PeerWorkload> | undefined;
}

/** The hosts of a cluster, as the index reads them. */
export interface IndexedCluster {
  readonly hostSet: {
    readonly hosts: readonly { readonly address: string; readonly metadata: object | undefined }[];
  };
}

/** Callers the sidecar never saw in EDS are named by their principal alone (bounded). */
const MAX_STRANGERS = 1024;

/** Meshed workloads by SPIFFE ID and address, from every endpoint in EDS. */
export class PeerIndex {
  private readonly strangers = new Map<string, PeerWorkload>();

  private constructor(private readonly byPrincipal: ReadonlyMap<string, PrincipalEntry>) {}

  static readonly EMPTY = new PeerIndex(new Map());

  static build(clusters: Iterable<IndexedCluster>): PeerIndex {
    const found = new Map<string, Map<string, Map<string, PeerWorkload>>>();
    for (const cluster of clusters) {
      for (const host of cluster.hostSet.hosts) {
        const peer = endpointPeer(host.metadata, true);
        if (peer.principal === UNKNOWN) continue;
        let byAddress = found.get(peer.principal);
        if (!byAddress) {
          byAddress = new Map();
          found.set(peer.principal, byAddress);
        }
        let same = byAddress.get(host.address);
        if (!same) {
          same = new Map();
          byAddress.set(host.address, same);
        }
        // One workload is an endpoint of many clusters (ports, subsets): count it once.
        same.set(FIELDS.map((f) => peer[f]).join(';'), peer);
      }
    }
    const index = new Map<string, PrincipalEntry>();
    for (const [principal, byAddress] of found) {
      const perAddress = new Map<string, PeerWorkload>();
      for (const [address, peers] of byAddress)
        perAddress.set(address, common([...peers.values()]));
      const any = common([...perAddress.values()]);
      // Replicas alike at many addresses need no address lookup: only differing ones do.
      const distinct = [...perAddress.values()].some((p) => FIELDS.some((f) => p[f] !== any[f]));
      index.set(principal, { any, byAddress: distinct ? perAddress : undefined });
    }
    return new PeerIndex(index);
  }

  /** The caller with this verified principal, from `downstream`'s address when that matters. */
  lookup(principal: string, downstream: unknown): PeerWorkload {
    const entry = this.byPrincipal.get(principal);
    if (entry) {
      if (!entry.byAddress) return entry.any;
      const address = remoteAddress(downstream);
      return (address !== undefined && entry.byAddress.get(address)) || entry.any;
    }
    let stranger = this.strangers.get(principal);
    if (!stranger) {
      if (this.strangers.size >= MAX_STRANGERS) return UNKNOWN_PEER;
      stranger = Object.freeze({ ...UNKNOWN_PEER, principal, namespace: namespaceOf(principal) });
      this.strangers.set(principal, stranger);
    }
    return stranger;
  }
}
