/**
 * The network filters Ferry's listeners use: the HTTP connection manager (routes fetched
 * over ADS, router last) and the TCP proxy.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
 */
import { messageName, typed, types } from '../../xds/index.js';
import type { Message } from './resources.js';

export const HTTP_CONNECTION_MANAGER = messageName(types.HTTP_CONNECTION_MANAGER);
export const TCP_PROXY = messageName(types.TCP_PROXY);
const ROUTER = messageName(types.ROUTER);

/** Fetch over the same ADS stream; proxyless gRPC accepts only `ads` or `self` here. */
export function adsConfigSource(): Message {
  return { ads: {}, resource_api_version: 'V3' };
}

/** The router filter; it must be the last HTTP filter (gRPC NACKs anything else). */
function routerFilter(): Message {
  return { name: 'envoy.filters.http.router', typed_config: typed(ROUTER, {}) };
}

export interface HcmOptions {
  readonly statPrefix: string;
  readonly routeConfigName: string;
  /** Set `codec_type: AUTO` (sidecar listeners); an API listener has no codec. */
  readonly autoCodec: boolean;
  /** HTTP filters that run before the router (authorization, faults, rate limits), in order. */
  readonly httpFilters?: readonly Message[];
  /** The `tracing` block (telemetry.ts), when the mesh traces. */
  readonly tracing?: Message;
  /** Access loggers (telemetry.ts). */
  readonly accessLog?: readonly Message[];
}

/** An HttpConnectionManager as a typed `Any`, taking its routes from RDS. */
export function httpConnectionManager(options: HcmOptions): Message {
  return typed(HTTP_CONNECTION_MANAGER, {
    stat_prefix: options.statPrefix,
    ...(options.autoCodec ? { codec_type: 'AUTO' } : {}),
    rds: { route_config_name: options.routeConfigName, config_source: adsConfigSource() },
    http_filters: [...(options.httpFilters ?? []), routerFilter()],
    ...(options.tracing ? { tracing: options.tracing } : {}),
    ...(options.accessLog?.length ? { access_log: options.accessLog } : {}),
  });
}

/** The HTTP connection manager as a listener filter. */
export function httpConnectionManagerFilter(options: HcmOptions): Message {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: httpConnectionManager(options),
  };
}

/** A TCP proxy to one cluster, as a listener filter. */
export function tcpProxyFilter(
  statPrefix: string,
  cluster: string,
  accessLog: readonly Message[] = [],
): Message {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: typed(TCP_PROXY, {
      stat_prefix: statPrefix,
      cluster,
      ...(accessLog.length ? { access_log: accessLog } : {}),
    }),
  };
}
