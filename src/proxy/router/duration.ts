/**
 * google.protobuf.Duration and int64 fields in Ferry's decoded form (longs as numbers, or
 * strings when a producer keeps them exact).
 */
import type { DurationLike } from './xds-route-types.js';

/** A duration in milliseconds; undefined when absent, NaN when malformed or negative. */
export function durationMs(d: DurationLike | undefined): number | undefined {
  if (d === undefined || d === null) return undefined;
  const seconds = d.seconds === undefined ? 0 : Number(d.seconds);
  const nanos = d.nanos ?? 0;
  if (!Number.isFinite(seconds) || !Number.isFinite(nanos)) return Number.NaN;
  const ms = seconds * 1000 + nanos / 1e6;
  return ms >= 0 ? ms : Number.NaN;
}

/** An int64 field as a number; undefined when absent, NaN when not an integer. */
export function int64(v: number | string | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) ? n : Number.NaN;
}

/**
 * Reads a duration field for the compiler: the value in ms, or the default when absent.
 * A malformed value is reported in `errors` and gives undefined.
 */
export function readDurationMs(
  d: DurationLike | undefined,
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
