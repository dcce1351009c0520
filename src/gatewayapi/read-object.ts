/**
 * Tolerant readers of parsed data: the semantic checks also run on data the schema refused
 * (so one pass reports every problem), where a value of the wrong type reads as absent.
 */
export type Obj = Readonly<Record<string, unknown>>;

const NONE: Obj = Object.freeze({});

export function asObject(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : NONE;
}

export function asArray(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function asInteger(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

export function asStringMap(v: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries(asObject(v)).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}
