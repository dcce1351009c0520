/**
 * The parts of an Upstream/DownstreamTlsContext the sidecar can honour: the SDS names of the
 * workload certificate and trust bundle (which the sidecar supplies itself), TLS versions,
 * ALPN, and URI SAN matchers on the peer. Inline keys and CAs, certificate providers, SPKI
 * or hash pinning are refused with the field named: the sidecar never takes key material
 * from xDS.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/common.proto
 */
import { anyType, anyTypeUrl, type envoy, types } from '../../xds/index.js';
import { TlsPolicyError } from './tls-policy-error.js';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** What both directions share. */
export interface CommonTlsSettings {
  /** SDS name of the workload certificate and key (Istio: `default`). */
  readonly sdsCertName: string;
  /** SDS name of the trust bundle peers are verified against (Istio: `ROOTCA`). */
  readonly sdsRootName: string;
  readonly alpn: readonly string[];
  /** Node's names of the allowed versions; TLS_AUTO gives Envoy's defaults (1.2 to 1.3). */
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
}

const VERSIONS: Readonly<Record<string, TlsVersion | undefined>> = {
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

function version(v: string | undefined, fallback: TlsVersion, field: string): TlsVersion {
  if (v === undefined || v === 'TLS_AUTO') return fallback;
  const out = VERSIONS[v];
  if (!out) throw new TlsPolicyError(field, `${v} is not supported (TLSv1_2 or TLSv1_3)`);
  return out;
}

function sdsName(s: envoy.SdsSecretConfig | undefined, field: string): string {
  if (!s || typeof s.name !== 'string' || s.name === '') {
    throw new TlsPolicyError(field, 'needs an SDS secret name');
  }
  return s.name;
}

function refuse(o: object | undefined, fields: readonly string[], at: string, why: string): void {
  if (!o) return;
  for (const f of fields) {
    const v = (o as Record<string, unknown>)[f];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) {
      throw new TlsPolicyError(`${at}.${f}`, why);
    }
  }
}

/**
 * A transport socket: its TLS context, or undefined for plaintext (no socket, raw_buffer).
 * `expected` is the context type the direction needs.
 */
export function tlsContextOf<T extends envoy.UpstreamTlsContext | envoy.DownstreamTlsContext>(
  socket: envoy.TransportSocket | undefined,
  expected: typeof types.UPSTREAM_TLS_CONTEXT | typeof types.DOWNSTREAM_TLS_CONTEXT,
  field: string,
): T | undefined {
  if (!socket) return undefined;
  const config = socket.typed_config;
  const type = anyType(config);
  if (type === types.RAW_BUFFER) return undefined;
  if (config === undefined) {
    if (socket.name === 'envoy.transport_sockets.raw_buffer') return undefined;
    throw new TlsPolicyError(`${field}.typed_config`, 'is missing');
  }
  if (type === undefined) {
    // A typed config whose proto is not loaded decodes as a bare Any.
    throw new TlsPolicyError(
      `${field}.typed_config`,
      `could not be decoded (type ${String(anyTypeUrl(config))})`,
    );
  }
  if (type !== expected) {
    throw new TlsPolicyError(`${field}.typed_config`, `is a ${type}; expected ${expected}`);
  }
  return config as unknown as T;
}

/** The SAN values a validation context allows (URI SANs matched exactly); empty: any. */
function allowedSans(v: envoy.CertificateValidationContext | undefined, at: string): string[] {
  if (!v) return [];
  refuse(
    v,
    [
      'trusted_ca',
      'verify_certificate_spki',
      'verify_certificate_hash',
      'custom_validator_config',
      'ca_certificate_provider_instance',
    ],
    at,
    'is not supported by the sidecar (the trust bundle comes from its own identity)',
  );
  const out: string[] = [];
  (v.match_typed_subject_alt_names ?? []).forEach((m, i) => {
    const f = `${at}.match_typed_subject_alt_names[${i}]`;
    if (m.san_type !== 'URI') {
      throw new TlsPolicyError(
        `${f}.san_type`,
        `${String(m.san_type)} is not supported (URI, for SPIFFE IDs)`,
      );
    }
    out.push(exactOnly(m.matcher, `${f}.matcher`));
  });
  (v.match_subject_alt_names ?? []).forEach((m, i) => {
    out.push(exactOnly(m, `${at}.match_subject_alt_names[${i}]`));
  });
  return [...new Set(out)];
}

function exactOnly(
  m: { exact?: string; ignore_case?: boolean } | undefined,
  field: string,
): string {
  const keys = m
    ? Object.keys(m).filter((k) => (m as Record<string, unknown>)[k] !== undefined)
    : [];
  if (!m || typeof m.exact !== 'string' || keys.some((k) => k !== 'exact')) {
    throw new TlsPolicyError(field, 'only exact SAN matchers are supported');
  }
  return m.exact;
}

export interface ParsedTlsContext extends CommonTlsSettings {
  readonly allowedSans: readonly string[];
}

export function parseCommonTlsContext(
  common: envoy.CommonTlsContext | undefined,
  at: string,
): ParsedTlsContext {
  if (!common) throw new TlsPolicyError(at, 'is missing');
  refuse(
    common,
    ['tls_certificates', 'tls_certificate_provider_instance'],
    at,
    'is not supported by the sidecar (its certificate comes from its own identity, by SDS name)',
  );
  refuse(
    common,
    ['validation_context'],
    at,
    'is not supported: give validation_context_sds_secret_config',
  );
  const certs = common.tls_certificate_sds_secret_configs ?? [];
  if (certs.length !== 1) {
    throw new TlsPolicyError(
      `${at}.tls_certificate_sds_secret_configs`,
      `needs exactly one secret; has ${certs.length}`,
    );
  }
  const combined = common.combined_validation_context;
  const rootConfig =
    combined?.validation_context_sds_secret_config ?? common.validation_context_sds_secret_config;
  const rootField = combined
    ? `${at}.combined_validation_context.validation_context_sds_secret_config`
    : `${at}.validation_context_sds_secret_config`;
  const params = common.tls_params;
  return {
    sdsCertName: sdsName(certs[0], `${at}.tls_certificate_sds_secret_configs[0]`),
    sdsRootName: sdsName(rootConfig, rootField),
    alpn: [...(common.alpn_protocols ?? [])],
    minVersion: version(
      params?.tls_minimum_protocol_version,
      'TLSv1.2',
      `${at}.tls_params.tls_minimum_protocol_version`,
    ),
    maxVersion: version(
      params?.tls_maximum_protocol_version,
      'TLSv1.3',
      `${at}.tls_params.tls_maximum_protocol_version`,
    ),
    allowedSans: allowedSans(
      combined?.default_validation_context,
      `${at}.combined_validation_context.default_validation_context`,
    ),
  };
}
