/**
 * A Cluster's upstream TLS, compiled once: which endpoints get mutual TLS and with what.
 * Envoy picks an endpoint's transport socket from `transport_socket_matches`: the first
 * entry whose `match` fields all equal the endpoint's `envoy.transport_socket_match`
 * metadata, else the cluster's `transport_socket`, else plaintext. This is how Istio's auto
 * mTLS gives meshed endpoints TLS and the others plaintext.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto#envoy-v3-api-field-config-cluster-v3-cluster-transport-socket-matches
 */
import { type envoy, type Json, structToJson, types } from '../../xds/index.js';
import { type CommonTlsSettings, parseCommonTlsContext, tlsContextOf } from './tls-context.js';

/** The metadata namespace transport_socket_matches are matched against. */
export const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

/** The TLS the data path uses to an endpoint. */
export interface UpstreamTlsSettings extends CommonTlsSettings {
  /** The peer's certificate must carry one of these URI SANs (SPIFFE IDs); empty: any. */
  readonly allowedSans: readonly string[];
  /** SNI to send; absent: none. */
  readonly sni?: string;
  /** The match entry it came from (its name), or `transport_socket`. */
  readonly source: string;
}

interface CompiledMatch {
  readonly fields: ReadonlyArray<readonly [string, string]>;
  readonly tls: UpstreamTlsSettings | undefined;
}

export interface UpstreamTlsPolicy {
  /** True when no endpoint of the cluster can get TLS. */
  readonly plaintextOnly: boolean;
  /**
   * The TLS for an endpoint with this metadata (its lb_endpoint's `metadata`), or undefined
   * for plaintext. Call it when endpoints change, not per request.
   */
  forEndpoint(metadata: envoy.Metadata | undefined): UpstreamTlsSettings | undefined;
}

function settings(
  socket: envoy.TransportSocket | undefined,
  field: string,
  source: string,
): UpstreamTlsSettings | undefined {
  const ctx = tlsContextOf<envoy.UpstreamTlsContext>(socket, types.UPSTREAM_TLS_CONTEXT, field);
  if (!ctx) return undefined;
  const parsed = parseCommonTlsContext(
    ctx.common_tls_context,
    `${field}.typed_config.common_tls_context`,
  );
  return Object.freeze({
    ...parsed,
    ...(ctx.sni ? { sni: ctx.sni } : {}),
    source,
  });
}

/** Canonical text of a metadata value, so that match and endpoint compare by value. */
const text = (v: Json): string => JSON.stringify(v);

export function compileUpstreamTls(cluster: envoy.Cluster): UpstreamTlsPolicy {
  const matches: CompiledMatch[] = (cluster.transport_socket_matches ?? []).map((m, i) => {
    const field = `transport_socket_matches[${i}]`;
    return {
      fields: Object.entries(structToJson(m.match)).map(([k, v]) => [k, text(v)] as const),
      tls: settings(m.transport_socket, `${field}.transport_socket`, m.name || field),
    };
  });
  const fallback = settings(cluster.transport_socket, 'transport_socket', 'transport_socket');
  const plaintextOnly = fallback === undefined && matches.every((m) => m.tls === undefined);
  return {
    plaintextOnly,
    forEndpoint(metadata) {
      if (plaintextOnly) return undefined;
      const own = structToJson(metadata?.filter_metadata?.[TRANSPORT_SOCKET_MATCH]);
      for (const m of matches) {
        if (m.fields.every(([k, v]) => own[k] !== undefined && text(own[k]) === v)) return m.tls;
      }
      return fallback;
    },
  };
}
