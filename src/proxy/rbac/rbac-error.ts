/**
 * Bad RBAC configuration: thrown while compiling (never while evaluating), with the path of
 * the offending field, so the xDS client can NACK the listener with it and keep the last
 * good one.
 */
import { FerryError } from '../../errors/index.js';

export class RbacConfigError extends FerryError {
  constructor(
    /** Readable path of the field, e.g. `rules.policies["a"].permissions[0].destination_ip`. */
    readonly field: string,
    detail: string,
  ) {
    super('FERRY_RBAC_INVALID_CONFIG', `${field}: ${detail}`);
  }
}
