/** Reading the mesh file from disk. */
import { readFile } from 'node:fs/promises';
import { type MeshError, MeshFileError } from './mesh-error.js';
import type { MeshConfig } from './model.js';
import { parseMesh } from './parse-mesh.js';

export type ReadMeshResult =
  | { readonly ok: true; readonly config: MeshConfig; readonly text: string }
  | { readonly ok: false; readonly error: MeshFileError; readonly text?: string };

/** Reads and parses the mesh file; problems come back as a MeshFileError value, not thrown. */
export async function readMeshFile(path: string): Promise<ReadMeshResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { ok: false, error: unreadable(path, e) };
  }
  const parsed = parseMesh(text, path);
  return parsed.ok
    ? { ok: true, config: parsed.config, text }
    : { ok: false, error: new MeshFileError(parsed.errors), text };
}

/** Reads and parses the mesh file; throws MeshFileError (FERRY_MESH_INVALID or _UNREADABLE). */
export async function loadMeshFile(path: string): Promise<MeshConfig> {
  const result = await readMeshFile(path);
  if (!result.ok) throw result.error;
  return result.config;
}

export function unreadable(path: string, cause: unknown): MeshFileError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const message =
    code === 'ENOENT'
      ? 'the mesh file does not exist'
      : code === 'EISDIR'
        ? 'cannot read the mesh file: it is a directory'
        : `cannot read the mesh file: ${(cause as Error | undefined)?.message ?? String(cause)}`;
  const error: MeshError = { file: path, line: 0, column: 0, field: '', message };
  return new MeshFileError([error], 'FERRY_MESH_UNREADABLE', { cause });
}
