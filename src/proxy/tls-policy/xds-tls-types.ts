/**
 * The fields of Envoy's TLS transport sockets, clusters and listeners the TLS policy reads,
 * in the object form Ferry decodes xDS into (snake_case names, enums as strings, Any as
 * `@type`, wrappers as `{ value }`, google.protobuf.Struct as `{ fields }` with camelCase
 * value kinds). Every field is optional; fields listed but unsupported are named when refused.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/tls.proto
 */
import type { ProtoStruct } from '../../xds/index.js';

export interface SdsSecretConfigLike {
  readonly name?: string;
  readonly sds_config?: object;
}

export interface StringMatcherLike {
  readonly exact?: string;
  readonly prefix?: string;
  readonly suffix?: string;
  readonly contains?: string;
  readonly safe_regex?: object;
  readonly ignore_case?: boolean;
}

export interface CertificateValidationContextLike {
  readonly trusted_ca?: object;
  readonly match_typed_subject_alt_names?: ReadonlyArray<{
    readonly san_type?: string;
    readonly matcher?: StringMatcherLike;
  }>;
  readonly match_subject_alt_names?: readonly StringMatcherLike[];
  readonly verify_certificate_spki?: readonly string[];
  readonly verify_certificate_hash?: readonly string[];
  readonly custom_validator_config?: object;
  readonly ca_certificate_provider_instance?: object;
}

export interface CommonTlsContextLike {
  readonly tls_params?: {
    readonly tls_minimum_protocol_version?: string;
    readonly tls_maximum_protocol_version?: string;
  };
  readonly tls_certificates?: readonly object[];
  readonly tls_certificate_sds_secret_configs?: readonly SdsSecretConfigLike[];
  readonly tls_certificate_provider_instance?: object;
  readonly validation_context?: CertificateValidationContextLike;
  readonly validation_context_sds_secret_config?: SdsSecretConfigLike;
  readonly combined_validation_context?: {
    readonly default_validation_context?: CertificateValidationContextLike;
    readonly validation_context_sds_secret_config?: SdsSecretConfigLike;
  };
  readonly alpn_protocols?: readonly string[];
}

export interface TlsContextLike {
  readonly '@type'?: string;
  readonly common_tls_context?: CommonTlsContextLike;
  /** UpstreamTlsContext. */
  readonly sni?: string;
  /** DownstreamTlsContext. */
  readonly require_client_certificate?: { readonly value?: boolean };
}

export interface TransportSocketLike {
  readonly name?: string;
  readonly typed_config?: TlsContextLike & Record<string, unknown>;
}

/** envoy.config.core.v3.Metadata. */
export interface MetadataLike {
  readonly filter_metadata?: Readonly<Record<string, ProtoStruct>>;
}

/** The Cluster fields of upstream TLS. */
export interface ClusterTlsLike {
  readonly name?: string;
  readonly transport_socket?: TransportSocketLike;
  readonly transport_socket_matches?: ReadonlyArray<{
    readonly name?: string;
    readonly match?: ProtoStruct;
    readonly transport_socket?: TransportSocketLike;
  }>;
}

export interface FilterLike {
  readonly name?: string;
  readonly typed_config?: Record<string, unknown> & { readonly '@type'?: string };
}

export interface FilterChainLike {
  readonly name?: string;
  readonly filter_chain_match?: Record<string, unknown> & {
    readonly destination_port?: { readonly value?: number };
    readonly transport_protocol?: string;
  };
  readonly filters?: readonly FilterLike[];
  readonly transport_socket?: TransportSocketLike;
}

/** The Listener fields of inbound TLS and authorization. */
export interface ListenerTlsLike {
  readonly name?: string;
  readonly address?: { readonly socket_address?: { readonly port_value?: number } };
  readonly filter_chains?: readonly FilterChainLike[];
  readonly default_filter_chain?: FilterChainLike;
}
