/**
 * The directory entries a file's content depends on, so that a watcher sees every way the
 * content can change: the file itself, each symbolic link on the way to it, and the entry of
 * its directory in the parent (a directory renamed or swapped away).
 *
 * The kubelet's atomic writer is the case that matters: a mounted ConfigMap key is
 * `mesh.yaml -> ..data/mesh.yaml`, `..data -> ..2026_12_05_11_00_00.123`, and an update
 * writes a new timestamped directory, points a temporary link `..data_tmp` at it and renames
 * that over `..data`. No event ever names `mesh.yaml`; the rename of `..data` is the change.
 * https://github.com/kubernetes/kubernetes/blob/master/pkg/volume/util/atomic_writer.go
 */
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

/** Linux's own limit on links followed while resolving one path (MAXSYMLINKS). */
const MAX_LINKS = 40;

/** Directory → the names in it whose change means the file may have changed. */
export type WatchPoints = ReadonlyMap<string, ReadonlySet<string>>;

function add(points: Map<string, Set<string>>, dir: string, name: string): void {
  let names = points.get(dir);
  if (names === undefined) {
    names = new Set();
    points.set(dir, names);
  }
  names.add(name);
}

/**
 * Resolves `path` component by component, as the kernel does, recording each link it
 * follows. Parts that do not exist (yet) end the walk: what exists so far is watched, and the
 * next change of it walks again.
 */
export function watchPoints(path: string): WatchPoints {
  const points = new Map<string, Set<string>>();
  const file = resolve(path);
  add(points, dirname(file), basename(file));
  const dir = dirname(file);
  if (dir !== dirname(dir)) add(points, dirname(dir), basename(dir));

  let pending = file.split(sep).filter((p) => p !== '');
  let current: string = sep;
  let links = 0;
  let resolved = true;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, part);
    let target: string;
    try {
      if (!lstatSync(next).isSymbolicLink()) {
        current = next;
        continue;
      }
      target = readlinkSync(next);
    } catch {
      // Missing or unreadable from here on: watch the entry that is not there yet.
      add(points, current, part);
      resolved = false;
      break;
    }
    add(points, current, part);
    if (++links > MAX_LINKS) {
      resolved = false;
      break;
    }
    pending = [...target.split(sep).filter((p) => p !== ''), ...pending];
    if (isAbsolute(target)) current = sep;
  }
  // The file where the links end: an in-place write there changes the content too.
  if (resolved && current !== sep) add(points, dirname(current), basename(current));
  return points;
}

/** The directory's identity: a directory renamed into the place of another is not the same. */
function inode(dir: string): string {
  try {
    const s = statSync(dir, { bigint: true });
    return `${s.dev}:${s.ino}`;
  } catch {
    return '-';
  }
}

/**
 * A stable text of the points and of the directories' identities, to tell whether the
 * watches must be set up again (a watch follows an inode, not a path).
 */
export function watchPointsKey(points: WatchPoints): string {
  return [...points]
    .map(([dir, names]) => `${dir}\0${inode(dir)}\0${[...names].sort().join('\0')}`)
    .sort()
    .join('\n');
}
