/**
 * Bad fault-injection or rate-limit configuration: thrown while compiling (never while
 * deciding), with the path of the offending field, so the xDS client can NACK the resource
 * with it and keep the last good one.
 */
import { FerryError } from '../../errors/index.js';

export class FilterConfigError extends FerryError {
  constructor(
    /** Readable path of the field, e.g. `HTTPFault.abort.http_status`. */
    readonly field: string,
    detail: string,
  ) {
    super('FERRY_FILTER_INVALID_CONFIG', `${field}: ${detail}`);
  }
}
