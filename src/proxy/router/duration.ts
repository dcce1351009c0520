/**
 * Reading google.protobuf.Duration and int64 fields while compiling a route table: the
 * conversion itself is the xds folder's one `durationMs`; this adds the compiler's error list.
 */
import { durationMs, type envoy } from '../../xds/index.js';

/** An int64 field (a number, as the codec decodes longs); undefined when absent, NaN when not an integer. */
export function int64(v: number | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  return Number.isInteger(v) ? v : Number.NaN;
}

/**
 * Reads a duration field for the compiler: the value in ms, or the default when absent.
 * A malformed value is reported in `errors` and gives undefined.
 */
export function readDurationMs(
  d: envoy.Duration | undefined,
  fallback: number | undefined,
  where: string,
  errors: string[],
): number | undefined {
  const ms = durationMs(d);
  if (ms === undefined) return fallback;
  if (Number.isNaN(ms)) {
    errors.push(`${where}: not a valid non-negative duration`);
    return undefined;
  }
  return ms;
}
