/**
 * The endpoint layer: a host's connection. A pooled dispatcher for HTTP requests (per
 * endpoint and protocol, mTLS when the host runs a sidecar), or a connection of its own for
 * a tunnel or TCP; and the host's load counters (`active`, `rqTotal`) that least-request
 * balancing and the admin page read, taken and given back here only.
 */
import type { RuntimeCluster } from '../cluster/index.js';
import type { Host } from '../lb/index.js';
import {
  connectEndpoint,
  type EndpointConnection,
  type Upstream,
  type UpstreamPools,
  type UpstreamTls,
} from '../upstream/index.js';

/** The mTLS settings to `host` of `cluster` (it runs a sidecar), or undefined: plaintext. */
export function endpointTls(cluster: RuntimeCluster, host: Host): UpstreamTls | undefined {
  return cluster.hostTls?.get(host);
}

/** The pool that carries requests to `host` of `cluster` (with its mTLS, if any). */
export function endpointPool(pools: UpstreamPools, cluster: RuntimeCluster, host: Host): Upstream {
  return pools.get(host.key, host.address, host.port, cluster, endpointTls(cluster, host));
}

/** A connection of its own to `host` (tunnels, TCP), with the cluster's mTLS to it. */
export function connectHost(
  cluster: RuntimeCluster,
  host: Host,
  alpn?: readonly string[],
): EndpointConnection {
  return connectEndpoint(host.address, host.port, endpointTls(cluster, host), alpn);
}

/** Whether connections to `host` are mTLS. */
export function isSecure(cluster: RuntimeCluster, host: Host): boolean {
  return endpointTls(cluster, host) !== undefined;
}

/** A request or connection to `host` begins: counted as active until `hostDone`. */
export function hostBegin(host: Host): void {
  host.active++;
  host.rqTotal++;
}

/** Gives back what `hostBegin` took. Callers see to it that this happens once. */
export function hostDone(host: Host): void {
  host.active--;
}
