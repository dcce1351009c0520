/** Errors of the mesh file: one record per problem, and the exception that carries them. */

export interface MeshError {
  readonly file: string;
  /** 1-based; 0 when the problem is the file as a whole (e.g. it cannot be read). */
  readonly line: number;
  /** 1-based; 0 when `line` is 0. */
  readonly column: number;
  /** Readable path of the offending field, e.g. `services[0].ports[1].protocol`; '' for none. */
  readonly field: string;
  readonly message: string;
  /** The Issue's kind, when it has one. */
  readonly kind?: 'unknown-subset';
}

export type MeshErrorCode = 'FERRY_MESH_INVALID' | 'FERRY_MESH_UNREADABLE';

/** `FILE:LINE:COL: FIELD: MESSAGE`, leaving out the parts an error does not have. */
export function formatMeshError(e: MeshError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  return e.field === '' ? `${where}: ${e.message}` : `${where}: ${e.field}: ${e.message}`;
}

export class MeshFileError extends Error {
  override readonly name = 'MeshFileError';
  readonly code: MeshErrorCode;
  readonly errors: readonly MeshError[];

  constructor(
    errors: readonly MeshError[],
    code: MeshErrorCode = 'FERRY_MESH_INVALID',
    options?: { cause?: unknown },
  ) {
    super(errors.map(formatMeshError).join('\n'), options);
    this.code = code;
    this.errors = errors;
  }
}
