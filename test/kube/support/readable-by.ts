/**
 * What another uid can read, for the capture tests that run node as the proxy's uid 1337:
 * from a checkout in a private directory (a clone under /root, mode 0700) that uid reads
 * nothing of it. Such tests copy what they run to a place the uid can read, or skip saying
 * why (issue 15).
 */
import { chmodSync, copyFileSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The permission bit (4 read, 1 search) for `uid`/`gid`, from the mode's owner/group/other. */
function allowed(file: string, uid: number, gid: number, bit: 4 | 1): boolean {
  if (uid === 0) return true;
  const st = statSync(file);
  if (st.uid === uid) return ((st.mode >> 6) & bit) !== 0;
  if (st.gid === gid) return ((st.mode >> 3) & bit) !== 0;
  return (st.mode & bit) !== 0;
}

/** The first path (a directory on the way, or the file) `uid` cannot get through; or undefined. */
export function unreadableBy(uid: number, gid: number, file: string): string | undefined {
  const real = realpathSync(file);
  let dir = path.dirname(real);
  const dirs: string[] = [];
  for (;;) {
    dirs.unshift(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of dirs) if (!allowed(d, uid, gid, 1)) return d;
  return allowed(real, uid, gid, 4) ? undefined : real;
}

/** Why `uid` cannot run these files (e.g. the CLI and its dependencies), or undefined. */
export function runAsSkipReason(uid: number, files: readonly string[]): string | undefined {
  for (const f of files) {
    const blocked = unreadableBy(uid, uid, f);
    if (blocked) {
      return `uid ${uid} cannot read ${blocked} (a private checkout?), and what it would run is the whole CLI with its dependencies; run the suite from a checkout other users can read`;
    }
  }
  return undefined;
}

const copies = new Map<string, string>();
let copyDir: string | undefined;

/**
 * A self-contained script `uid` can read: the file itself when it can, else a copy in a
 * world-readable temporary directory (removed when the process exits).
 */
export function readableCopy(file: string, uid: number): string {
  if (unreadableBy(uid, uid, file) === undefined) return file;
  const known = copies.get(file);
  if (known) return known;
  if (!copyDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-readable-'));
    chmodSync(dir, 0o755);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    copyDir = dir;
  }
  const copy = path.join(copyDir, path.basename(file));
  copyFileSync(file, copy);
  chmodSync(copy, 0o644);
  copies.set(file, copy);
  return copy;
}
