/**
 * Tolerant readers of parsed YAML data. The semantic stage also runs when the schema stage
 * failed (so that one pass reports every problem); a value of the wrong type then reads as
 * absent instead of throwing, and the schema's error is the one reported for it.
 */

export type Data = Readonly<Record<string, unknown>>;

const EMPTY: Data = Object.freeze({});

export function isRecord(v: unknown): v is Data {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function record(v: unknown): Data {
  return isRecord(v) ? v : EMPTY;
}

export function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

export function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

/** A string-to-string map such as labels; entries of other types are dropped. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(record(v))) {
    if (typeof value === 'string') out[k] = value;
  }
  return out;
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[]): T | undefined {
  return allowed.find((a) => a === v);
}

/** Drops undefined fields, so optional fields end up absent rather than present and undefined. */
export function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
