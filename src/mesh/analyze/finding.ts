/** One problem the analyzer found, placed in the mesh file. */
import type { MessageType } from './codes.js';

export interface Finding extends MessageType {
  readonly file: string;
  /** 1-based; 0 when the finding is about the file as a whole or no position is known. */
  readonly line: number;
  readonly column: number;
  /** Readable path of the field, e.g. `services[2].routes[1]`; '' for none. */
  readonly field: string;
  readonly message: string;
}

/** `FILE:LINE:COL: warning FM0102 ShadowedRoute: MESSAGE` and, indented, the fix. */
export function formatFinding(f: Finding): string {
  const where = f.line > 0 ? `${f.file}:${f.line}:${f.column}` : f.file;
  return `${where}: ${f.severity} ${f.code} ${f.name}: ${f.message}\n    fix: ${f.fix}`;
}
