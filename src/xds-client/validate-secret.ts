/**
 * Built-in validation of an SDS Secret the client can use: a `tls_certificate` whose chain
 * and key are inline (the only data sources a proxy fed over ADS can read), as the gateway
 * contract serves them. Whether the PEM parses is the consumer's check (its validate hook).
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/secret.proto
 */
import type { Resource } from './validate.js';

function record(value: unknown): Resource | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Resource)
    : undefined;
}

/** Whether a DataSource carries its data inline. */
function inline(source: Resource | undefined): boolean {
  return (
    (typeof source?.inline_bytes === 'string' && source.inline_bytes.length > 0) ||
    (typeof source?.inline_string === 'string' && source.inline_string.length > 0)
  );
}

export function validateSecret(secret: Resource): string[] {
  const certificate = record(secret.tls_certificate);
  if (!certificate) {
    // A validation context or session ticket keys: nothing this client reads; refused
    // rather than ignored, so a listener never waits on a secret it cannot use.
    return ['has no tls_certificate (the only secret type this client uses)'];
  }
  const problems: string[] = [];
  if (!inline(record(certificate.certificate_chain)))
    problems.push('tls_certificate.certificate_chain must be inline_bytes or inline_string');
  if (!inline(record(certificate.private_key)))
    problems.push('tls_certificate.private_key must be inline_bytes or inline_string');
  return problems;
}
