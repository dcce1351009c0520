/**
 * Resource names. Cluster names follow Istio's `direction|port|subset|host` convention so
 * that operators can read Ferry's config dumps and stats the way they read Istio's.
 */

import { types } from '../../xds/index.js';

/** The listener every sidecar's app sends its outbound traffic to. */
export const VIRTUAL_OUTBOUND = types.VIRTUAL_OUTBOUND;

/** The listener other sidecars connect to, in front of the app. */
export const VIRTUAL_INBOUND = types.VIRTUAL_INBOUND;

/** `outbound|PORT|SUBSET|HOST`; SUBSET is empty when there is none. */
export function outboundClusterName(port: number, hostname: string, subset?: string): string {
  return `outbound|${port}|${subset ?? ''}|${hostname}`;
}

/** `inbound|PORT||`: the cluster (and route config) in front of the app's port. */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** The route configuration a sidecar of namespace `ns` uses for its outbound HTTP traffic. */
export function outboundRouteConfigName(namespace: string): string {
  return `outbound.${namespace}`;
}

/** `<host>:<port>`: the name of a virtual host, and of a proxyless gRPC route config. */
export function hostPortName(hostname: string, port: number): string {
  return `${hostname}:${port}`;
}

/**
 * The SNI a client sends to a meshed endpoint of a cluster, Istio's
 * `outbound_.PORT_.SUBSET_.HOST`: the server side can tell clusters apart by it.
 */
export function outboundSni(port: number, hostname: string, subset?: string): string {
  return `outbound_.${port}_.${subset ?? ''}_.${hostname}`;
}

/**
 * The ORIGINAL_DST cluster a sidecar's outbound listener sends connections for destinations
 * outside the mesh to: plain TCP to the address the app asked for (Istio's name).
 */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';

/**
 * `outbound-endpoint|PORT||HOST`: the ORIGINAL_DST cluster for connections an app makes to
 * one of the service's meshed endpoints by its own address (a pod IP): mutual TLS to the
 * address asked for.
 */
export function endpointClusterName(port: number, hostname: string): string {
  return `outbound-endpoint|${port}||${hostname}`;
}

/** `gateway~<port>`: a gateway's listener on a port, and that listener's route configuration. */
export function gatewayListenerName(port: number): string {
  return `gateway~${port}`;
}
