/**
 * The SDS secrets a listener needs: the `tls_certificate_sds_secret_configs` of its filter
 * chains' DownstreamTlsContexts, fetched over ADS (a gateway's HTTPS listeners, by the
 * contract in docs: one secret per certificate set, named `<namespace>/<secret>`).
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/security/secret
 */
import { type envoy, types, unpackAny } from '../xds/index.js';

/**
 * The secret names of one chain's transport socket (a DownstreamTlsContext) fetched over ADS.
 * A name without an ADS sds_config (a sidecar's `default`, Istio's way of naming the proxy's
 * own certificate) is the proxy's own business, never asked of the server.
 */
export function chainSecretNames(chain: envoy.FilterChain): string[] {
  const context = unpackAny<envoy.DownstreamTlsContext>(
    chain.transport_socket?.typed_config,
    types.DOWNSTREAM_TLS_CONTEXT,
  );
  const names: string[] = [];
  for (const config of context?.common_tls_context?.tls_certificate_sds_secret_configs ?? []) {
    if (config.name && config.sds_config?.ads !== undefined) names.push(config.name);
  }
  return names;
}

/** Every secret the listener's chains (and default chain) name. */
export function secretNames(listener: envoy.Listener): string[] {
  const chains = [...(listener.filter_chains ?? [])];
  if (listener.default_filter_chain) chains.push(listener.default_filter_chain);
  const names = new Set<string>();
  for (const chain of chains) for (const name of chainSecretNames(chain)) names.add(name);
  return [...names];
}
