/**
 * SDS for a gateway: each certificate its listeners name, as an Envoy Secret
 * `<namespace>/<name>` with the PEM chain and key inline.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/secret.proto
 */
import { type GatewayState, namespacedName, type TlsSecret } from '../../gatewayapi/index.js';
import type { NamedResource } from './resources.js';

export function gatewaySecrets(
  gateway: GatewayState,
  secrets: readonly TlsSecret[],
): NamedResource[] {
  const byName = new Map(secrets.map((s) => [namespacedName(s), s]));
  const names = new Set(
    gateway.listeners.filter((l) => l.usable).flatMap((l) => l.certificateRefs.map(namespacedName)),
  );
  return [...names].sort().flatMap((name) => {
    const s = byName.get(name);
    if (!s) return [];
    return [
      {
        name,
        value: {
          name,
          tls_certificate: {
            certificate_chain: { inline_bytes: Buffer.from(s.certificateChain).toString('base64') },
            private_key: { inline_bytes: Buffer.from(s.privateKey).toString('base64') },
          },
        },
      },
    ];
  });
}
