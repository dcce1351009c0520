/**
 * Bad fault-injection or rate-limit configuration: thrown while compiling (never while
 * deciding), with the path of the offending field, so the xDS client can NACK the resource
 * with it and keep the last good one.
 */
export class FilterConfigError extends Error {
  readonly code = 'FERRY_FILTER_INVALID_CONFIG';

  constructor(
    /** Readable path of the field, e.g. `HTTPFault.abort.http_status`. */
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'FilterConfigError';
  }
}
