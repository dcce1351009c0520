/**
 * google.protobuf.Duration, in the object form the codec decodes it into (`{ seconds, nanos }`,
 * seconds as a number), to and from milliseconds: the one conversion every reader of a
 * Duration field uses.
 * https://protobuf.dev/reference/protobuf/google.protobuf/#duration
 */
import type { Duration } from './envoy-types.js';

/** The largest `nanos` magnitude: a Duration carries less than one second in it. */
const MAX_NANOS = 999_999_999;

/**
 * A Duration in milliseconds: undefined when absent, NaN when it is not a valid non-negative
 * duration (seconds or nanos not integers, nanos out of range, or a negative total; every
 * Envoy duration field Ferry reads is declared `gte: {}`), so a compiler can name the field.
 */
export function durationMs(d: Duration | null | undefined): number | undefined {
  if (d === undefined || d === null) return undefined;
  const seconds = d.seconds ?? 0;
  const nanos = d.nanos ?? 0;
  if (!Number.isSafeInteger(seconds) || !Number.isInteger(nanos) || Math.abs(nanos) > MAX_NANOS) {
    return Number.NaN;
  }
  const ms = seconds * 1000 + nanos / 1e6;
  return ms >= 0 ? ms : Number.NaN;
}

/** Milliseconds as a Duration (nanos left out when zero, as proto3 would). */
export function durationFromMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos ? { seconds, nanos } : { seconds };
}
