/**
 * The concrete layer: from a forward route to a host. The route's cluster (weighted or
 * named by a header), the hash a consistent-hash balancer uses, the cluster's circuit
 * breakers (a slot taken for the request's, or the tunnel's, whole life), the outlier-aware
 * pick (the balancer skips ejected hosts; a retry prefers hosts not tried yet), the retry
 * slots, the host a sticky session names, and what an attempt's outcome tells outlier
 * detection. HTTP exchanges, mirror
 * copies, upgrades, CONNECT and TCP all take these steps here and nowhere else.
 */
import { Outcome, type RuntimeCluster, statusOutcome } from '../cluster/index.js';
import { FAILURE, type Failure } from '../failure/index.js';
import { type Host, hashKey, NO_HASH, type PickContext } from '../lb/index.js';
import { type ForwardRoute, hashInput, type RouteRequest } from '../router/index.js';
import { type Refusal, refusalOf } from './route-layer.js';

/**
 * The route's cluster for this request, or the refusal (NC, with the route's
 * cluster_not_found_response_code: 503 unless it says otherwise) when there is none.
 */
export function chooseCluster(
  route: ForwardRoute,
  clusters: ReadonlyMap<string, RuntimeCluster>,
  request: RouteRequest,
  random: () => number,
): RuntimeCluster | Refusal {
  const name = route.pickCluster(random(), request);
  const cluster = name === undefined ? undefined : clusters.get(name);
  if (cluster !== undefined) return cluster;
  return refusalOf(FAILURE.NO_CLUSTER, `no cluster ${name ?? ''}`, route.clusterNotFoundStatus);
}

/**
 * The cluster of a request whose sticky session names host `key`: on a weighted route the
 * cluster that has that host, if it may take traffic, so that a session keeps its backend
 * across a split (GEP-1619); otherwise the route's choice, as chooseCluster makes it.
 */
export function chooseSessionCluster(
  route: ForwardRoute,
  clusters: ReadonlyMap<string, RuntimeCluster>,
  request: RouteRequest,
  random: () => number,
  key: string,
): RuntimeCluster | Refusal {
  const names = route.weightedClusters;
  for (let i = 0; i < names.length; i++) {
    const cluster = clusters.get(names[i]!);
    if (cluster !== undefined && sessionHost(cluster, key) !== undefined) return cluster;
  }
  return chooseCluster(route, clusters, request, random);
}

/** What a consistent-hash balancer hashes for this request (none without hash policies). */
export function pickContext(
  route: ForwardRoute,
  request: RouteRequest,
  remoteAddress: string,
): PickContext {
  if (route.hashPolicies.length === 0) return NO_HASH;
  const input = hashInput(route.hashPolicies, request, remoteAddress);
  return input === undefined ? NO_HASH : { hash: hashKey(input) };
}

/** Takes a request slot of the cluster's breakers: OVERFLOW when it is at max_requests. */
export function admit(cluster: RuntimeCluster): Failure | undefined {
  return cluster.breakers.tryRequest() ? undefined : FAILURE.OVERFLOW;
}

/** Gives back a slot `admit` took. */
export function release(cluster: RuntimeCluster): void {
  cluster.breakers.releaseRequest();
}

/** How often a retry re-picks to find a host not tried yet before taking a tried one. */
const REPICKS = 3;

/** A healthy, non-ejected host, preferring one not in `tried`; undefined: none (UH). */
export function pickHost(
  cluster: RuntimeCluster,
  pick: PickContext,
  tried: readonly Host[] | undefined,
): Host | undefined {
  let host = cluster.balancer.pick(pick);
  if (tried === undefined || tried.length === 0) return host;
  for (let i = 0; host && i < REPICKS && tried.includes(host); i++) {
    host = cluster.balancer.pick(pick);
  }
  return host;
}

/**
 * The host a request's session names (router/session-policy.ts), when the cluster has it
 * and it may take traffic (healthy, not ejected); else undefined, and the balancer picks, as
 * Envoy's stateful session does outside strict mode.
 */
export function sessionHost(cluster: RuntimeCluster, key: string | undefined): Host | undefined {
  if (key === undefined) return undefined;
  const host = cluster.hostSet.get(key);
  return host?.healthy ? host : undefined;
}

/**
 * Admits a connection-long user of the cluster (a tunnel, a TCP connection, a shadow) and
 * picks its host: the host, or the failure (breaker slot given back when there is no host).
 */
export function acquireHost(cluster: RuntimeCluster, pick: PickContext): Host | Failure {
  const overflow = admit(cluster);
  if (overflow !== undefined) return overflow;
  const host = cluster.balancer.pick(pick);
  if (host === undefined) {
    release(cluster);
    return FAILURE.NO_HEALTHY_UPSTREAM;
  }
  return host;
}

/** Takes a connection slot of the cluster's breakers (TCP): OVERFLOW at max_connections. */
export function admitConnection(cluster: RuntimeCluster): Failure | undefined {
  return cluster.breakers.tryConnection() ? undefined : FAILURE.OVERFLOW;
}

/** Gives back a slot `admitConnection` took. */
export function releaseConnection(cluster: RuntimeCluster): void {
  cluster.breakers.releaseConnection();
}

/** Takes a retry slot (max_retries or the retry budget); false: no retry. */
export function admitRetry(cluster: RuntimeCluster): boolean {
  return cluster.breakers.tryRetry();
}

export function releaseRetry(cluster: RuntimeCluster): void {
  cluster.breakers.releaseRetry();
}

/** An upstream answered with `status`: errors (5xx) counted, outlier detection told. */
export function reportStatus(cluster: RuntimeCluster, host: Host, status: number): void {
  if (status >= 500) host.rqError++;
  cluster.outlier?.record(host, statusOutcome(status));
}

/** A connection to `host` opened (TCP): outlier detection counts it a success. */
export function reportConnected(cluster: RuntimeCluster, host: Host): void {
  cluster.outlier?.record(host, Outcome.Success);
}

/**
 * An attempt failed locally (connect failure, reset, protocol error): counted as an error
 * unless it was a timeout, and told to outlier detection as a gateway failure, as Envoy's
 * consecutive_local_origin_failure counts it.
 */
export function reportLocalFailure(cluster: RuntimeCluster, host: Host, countError = true): void {
  if (countError) host.rqError++;
  cluster.outlier?.record(host, Outcome.Local);
}
