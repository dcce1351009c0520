/**
 * Durations in the mesh file: a decimal number with a unit, `250ms`, `2s`, `1.5s`, `1m`, `1h`,
 * or several such terms in a row (`1m30s`), as Go's time.ParseDuration reads them. A unit is
 * required: a bare `500` could mean seconds or milliseconds, and guessing wrong is silent.
 * The JSON Schema's `duration` pattern is this same expression; a test keeps them in step.
 */

export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|h|m|s))+$/;

const TERM = /([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/g;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export const DURATION_HINT =
  'must be a duration with a unit: ms, s, m or h (e.g. 250ms, 1.5s, 1m30s)';

/** Milliseconds, or undefined when `s` is not a duration. Precision is one microsecond. */
export function parseDuration(s: string): number | undefined {
  if (!DURATION_PATTERN.test(s)) return undefined;
  let ms = 0;
  for (const [, value, unit] of s.matchAll(TERM)) {
    ms += Number(value) * UNIT_MS[unit];
  }
  if (!Number.isFinite(ms)) return undefined;
  // 1.1s is 1100.0000000000002 in binary floating point; Envoy's durations stop at nanoseconds.
  return Math.round(ms * 1000) / 1000;
}
