/**
 * Bad or unsupported TLS configuration in a Cluster or Listener: thrown while compiling, with
 * the path of the offending field, so the xDS client can NACK the resource with it.
 */
import { FerryError } from '../../errors/index.js';

export class TlsPolicyError extends FerryError {
  constructor(
    /** Readable path of the field, e.g. `transport_socket_matches[0].transport_socket`. */
    readonly field: string,
    detail: string,
  ) {
    super('FERRY_TLS_POLICY_INVALID_CONFIG', `${field}: ${detail}`);
  }
}
