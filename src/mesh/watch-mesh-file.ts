/**
 * Follows changes to the mesh file. Directories are watched rather than the file, because
 * editors and config tools save by writing a new file and renaming it over the old one, which
 * a watch on the old file's inode would miss; and every symbolic link on the way to the file
 * is watched in its directory, because the kubelet updates a mounted ConfigMap by swapping
 * the `..data` link (see watch-points.ts). After each change the links are walked again, so
 * a swap that moves the file elsewhere moves the watches with it.
 */
import { type FSWatcher, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readMeshFile, unreadable } from './load-mesh-file.js';
import type { MeshFileError } from './mesh-error.js';
import type { MeshConfig } from './model.js';
import { type WatchPoints, watchPoints, watchPointsKey } from './watch-points.js';

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
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  // Text last read; undefined until the baseline is read, or after the file could not be read.
  let lastText: string | undefined;
  let watchers: FSWatcher[] = [];
  let watchedKey = '';

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

  /** One watcher per directory; returns the first directory that could not be watched. */
  const rewatch = (): { dir: string; error: unknown } | undefined => {
    const points: WatchPoints = watchPoints(path);
    const key = watchPointsKey(points);
    if (key === watchedKey) return undefined;
    for (const w of watchers) w.close();
    watchers = [];
    watchedKey = key;
    let failed: { dir: string; error: unknown } | undefined;
    for (const [dir, names] of points) {
      try {
        const w = watch(dir, (_event, filename) => {
          // Some platforms do not report the name; then any change in the directory counts.
          if (filename === null || names.has(filename)) schedule();
        });
        // A watched directory that goes away (an old timestamped directory the kubelet
        // removes) ends its watcher; walking the links again replaces it.
        w.on('error', () => {
          watchedKey = '';
          schedule();
        });
        watchers.push(w);
      } catch (error) {
        // A parent the process may not read, or a directory not there yet: the others
        // still see the change that makes it appear.
        failed ??= { dir, error };
      }
    }
    return failed;
  };

  const check = async (): Promise<void> => {
    if (closed) return;
    rewatch();
    const result = await readMeshFile(path);
    if (closed || (result.text !== undefined && result.text === lastText)) return;
    lastText = result.text;
    if (result.ok) handlers.onConfig(result.config);
    else handlers.onError(result.error);
  };

  const failed = rewatch();
  const ready = readMeshFile(path).then((r) => {
    lastText = r.text;
  });
  let queue = ready;

  if (failed !== undefined && failed.dir === dirname(resolve(path))) {
    // The file's own directory is missing or unreadable: report it once, asynchronously,
    // like a change.
    queueMicrotask(() => {
      if (!closed) handlers.onError(unreadable(path, failed.error));
    });
  }

  return {
    ready,
    close: () => {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
      watchers = [];
    },
  };
}
