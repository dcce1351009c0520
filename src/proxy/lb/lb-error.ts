/**
 * Errors of load-balancer configuration: records with stable codes, returned (never thrown) so a
 * caller can NACK the xDS update and keep its last good balancer.
 */

export type LbErrorCode =
  /** `lb_policy` names a policy no registered factory implements. */
  | 'FERRY_LB_UNKNOWN_POLICY'
  /** A policy or common LB setting of the Cluster is out of range. */
  | 'FERRY_LB_INVALID_CONFIG'
  /** A ClusterLoadAssignment has an endpoint, weight or priority Envoy would reject. */
  | 'FERRY_LB_INVALID_ENDPOINTS';

export interface LbError {
  readonly code: LbErrorCode;
  /** Readable path of the offending field, e.g. `ring_hash_lb_config.minimum_ring_size`. */
  readonly field: string;
  /** Includes the cluster name when known. */
  readonly message: string;
}

/** The outcome of validating or building: a value with warnings, or every error found. */
export type LbResult<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly LbError[] };

export function lbError(code: LbErrorCode, field: string, message: string): LbError {
  return { code, field, message };
}

/** `FIELD: MESSAGE`, for logs and NACK details. */
export function formatLbError(e: LbError): string {
  return e.field === '' ? e.message : `${e.field}: ${e.message}`;
}
