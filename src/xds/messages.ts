/**
 * The discovery messages in the object form Ferry decodes them to (snake_case fields,
 * as in envoy/service/discovery/v3/discovery.proto).
 */
import type { Struct } from './envoy-types.js';

export interface Locality {
  region?: string;
  zone?: string;
  sub_zone?: string;
}

/** envoy.config.core.v3.Node: who the client is. */
export interface Node {
  id?: string;
  cluster?: string;
  metadata?: Struct;
  locality?: Locality;
  user_agent_name?: string;
  user_agent_version?: string;
}

export interface RpcStatus {
  code?: number;
  message?: string;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: Node;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

export interface AnyMessage {
  type_url?: string;
  value?: Uint8Array;
}

export interface DiscoveryResponse {
  version_info?: string;
  resources?: AnyMessage[];
  type_url?: string;
  nonce?: string;
  control_plane?: { identifier?: string };
}

export interface DeltaDiscoveryRequest {
  node?: Node;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

export interface DeltaResource {
  name?: string;
  version?: string;
  resource?: AnyMessage;
}

export interface DeltaDiscoveryResponse {
  system_version_info?: string;
  resources?: DeltaResource[];
  type_url?: string;
  removed_resources?: string[];
  nonce?: string;
  control_plane?: { identifier?: string };
}
