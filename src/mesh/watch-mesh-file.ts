/**
 * Follows changes to the mesh file. The directory is watched rather than the file, because
 * editors and config tools save by writing a new file and renaming it over the old one, which
 * a watch on the old file's inode would miss.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { readMeshFile, unreadable } from './load-mesh-file.js';
import type { MeshFileError } from './mesh-error.js';
import type { MeshConfig } from './model.js';

export interface MeshFileHandlers {
  /** A valid change: the new config, to use in place of the previous one. */
  onConfig(config: MeshConfig): void;
  /** An invalid or unreadable file: the caller keeps the last good config. */
  onError(err: MeshFileError): void;
}

export interface WatchMeshFileOptions {
  /** Quiet time after the last change event before the file is read. Default 50 ms. */
  readonly debounceMs?: number;
}

export interface MeshFileWatch {
  /** Resolves once the baseline content is read: changes from then on are reported. */
  readonly ready: Promise<void>;
  close(): void;
}

const DEFAULT_DEBOUNCE_MS = 50;

/**
 * Calls a handler for each change of content after the call; the content at the time of the
 * call is read as the baseline and not reported (the caller loads it with loadMeshFile).
 * Saves that leave the content as it was are ignored. Reads are serialized, so handlers see
 * changes in order.
 */
export function watchMeshFile(
  path: string,
  handlers: MeshFileHandlers,
  options: WatchMeshFileOptions = {},
): MeshFileWatch {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const name = basename(path);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  // Text last read; undefined until the baseline is read, or after the file could not be read.
  let lastText: string | undefined;
  const ready = readMeshFile(path).then((r) => {
    lastText = r.text;
  });
  let queue = ready;

  const check = async (): Promise<void> => {
    const result = await readMeshFile(path);
    if (closed || (result.text !== undefined && result.text === lastText)) return;
    lastText = result.text;
    if (result.ok) handlers.onConfig(result.config);
    else handlers.onError(result.error);
  };

  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      queue = queue.then(check).catch((err: unknown) => {
        // A handler threw: surface it as an uncaught exception instead of losing it here.
        queueMicrotask(() => {
          throw err;
        });
      });
    }, debounceMs);
  };

  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(resolve(path)), (_event, filename) => {
      // Some platforms do not report the name; then any change in the directory counts.
      if (filename === null || filename === name) schedule();
    });
  } catch (e) {
    // The directory is missing or unreadable: report it once, asynchronously, like a change.
    queueMicrotask(() => {
      if (!closed) handlers.onError(unreadable(path, e));
    });
    return {
      ready,
      close: () => {
        closed = true;
      },
    };
  }
  watcher.on('error', (e) => {
    if (!closed) handlers.onError(unreadable(path, e));
  });

  return {
    ready,
    close: () => {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
