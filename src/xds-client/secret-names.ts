/**
 * The SDS secrets a listener needs: the `tls_certificate_sds_secret_configs` of its filter
 * chains' DownstreamTlsContexts, fetched over ADS (a gateway's HTTPS listeners, by the
 * contract in docs: one secret per certificate set, named `<namespace>/<secret>`).
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/security/secret
 */
import type { Resource } from './validate.js';

function record(value: unknown): Resource | undefined {
  return typeof value === 'object' && value !== null ? (value as Resource) : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * The secret names of one chain's transport socket (a DownstreamTlsContext) fetched over ADS.
 * A name without an ADS sds_config (a sidecar's `default`, Istio's way of naming the proxy's
 * own certificate) is the proxy's own business, never asked of the server.
 */
export function chainSecretNames(chain: unknown): string[] {
  const context = record(record(record(chain)?.transport_socket)?.typed_config);
  const common = record(context?.common_tls_context);
  const names: string[] = [];
  for (const config of list(common?.tls_certificate_sds_secret_configs)) {
    const name = record(config)?.name;
    const overAds = record(record(config)?.sds_config)?.ads !== undefined;
    if (typeof name === 'string' && name && overAds) names.push(name);
  }
  return names;
}

/** Every secret the listener's chains (and default chain) name. */
export function secretNames(listener: Resource): string[] {
  const chains = [...list(listener.filter_chains)];
  if (listener.default_filter_chain) chains.push(listener.default_filter_chain);
  const names = new Set<string>();
  for (const chain of chains) for (const name of chainSecretNames(chain)) names.add(name);
  return [...names];
}
