/**
 * The demo's children log JSON (pino); the demo's output is for people. Each line a child
 * writes is turned into what the demo prints: the control plane's verdicts on mesh file
 * edits as the lines an editor shows ("FILE:LINE:COL: message" for a rejected edit, "FILE
 * applied: routes of reviews changed" for an applied one), other warnings and errors as
 * "warning: message (field=value, ...)", and informational lines left out.
 */

const MESH_APPLIED = 'mesh file changed; applying';
const MESH_REJECTED = 'mesh file change rejected; the last good configuration stays in force';
/** pino's levels: 40 warn, 50 error, 60 fatal. */
const WARN = 40;
const ERROR = 50;
/** Fields every line has, or that say nothing to a person reading the demo. */
const NOISE = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component', 'mode']);

interface LogLine {
  readonly level?: number;
  readonly msg?: string;
  readonly file?: string;
  readonly errors?: unknown;
  readonly changes?: unknown;
  readonly [key: string]: unknown;
}

function fieldText(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** The lines to print for one line a child wrote (none: leave it out). */
export function humanLines(line: string): string[] {
  if (!line.startsWith('{')) return [line];
  let l: LogLine;
  try {
    l = JSON.parse(line) as LogLine;
  } catch {
    return [line];
  }
  if (typeof l.msg !== 'string' || typeof l.level !== 'number') return [line];
  if (l.msg === MESH_REJECTED && Array.isArray(l.errors)) {
    return l.errors.map((e) => `${String(e)} (edit rejected; the last good configuration stays)`);
  }
  if (l.msg === MESH_APPLIED) {
    const changes = Array.isArray(l.changes) ? l.changes.map(String) : [];
    const what = changes.length ? changes.join('; ') : 'nothing that the mesh uses changed';
    return [`${l.file ?? 'mesh file'} applied: ${what}`];
  }
  if (l.level < WARN) return [];
  const fields = Object.entries(l)
    .filter(([k]) => !NOISE.has(k))
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  const kind = l.level >= ERROR ? 'error' : 'warning';
  return [`${kind}: ${l.msg}${fields.length ? ` (${fields.join(', ')})` : ''}`];
}
