/**
 * google.protobuf.UInt32Value / UInt64Value fields as numbers. The codec decodes 64-bit
 * integers as numbers (longs: Number), so a UInt64Value beyond 2^53 arrives rounded; such a
 * size is refused as not a safe integer rather than used.
 */
import type { envoy } from '../../xds/index.js';

/**
 * A wrapped unsigned integer as a number, or undefined when absent. NaN when present but not a
 * non-negative safe integer, so callers report it.
 */
export function wrappedUint(
  w: envoy.UInt32Value | envoy.UInt64Value | undefined,
): number | undefined {
  if (w === undefined || w === null || w.value === undefined || w.value === null) return undefined;
  const v = w.value;
  return Number.isSafeInteger(v) && v >= 0 ? v : Number.NaN;
}
