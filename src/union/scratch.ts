// Scratch directories, where copy-ups are built before their atomic rename
// into place. Overlay mode uses WORKDIR/work, as fuse-overlayfs does (§1.2);
// a copy-on-write pool uses a hidden `.braidfs-work` at the root of each
// writable branch. Either way it sits on the target's filesystem, so the
// final rename is atomic, and it is emptied at every mount: whatever is in
// it is a copy-up a crash interrupted, never visible under a real name.
import { lstatSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from '../sys/fs.js';

/** The per-branch scratch directory of a copy-on-write pool; hidden from the mount. */
export const SCRATCH_NAME = Buffer.from('.braidfs-work');

export interface Scratch {
  readonly path: string;
  readonly fd: number;
  /** Leftovers of an interrupted copy-up that were removed. */
  readonly cleaned: number;
}

/**
 * Creates `path` (mode 0700) or empties it, and opens it. Throws with a
 * message naming the path when that is impossible.
 */
export function prepareScratch(path: string): Scratch {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if (!lstatSync(path).isDirectory()) throw new Error(`scratch directory '${path}' is not a directory`);
  let cleaned = 0;
  for (const name of readdirSync(path)) {
    rmSync(join(path, name), { recursive: true, force: true });
    cleaned++;
  }
  return { path, fd: sys.openPath(Buffer.from(path)), cleaned };
}

/** Whether two paths are on one filesystem (a rename between them is atomic). */
export function sameFilesystem(a: string, b: string): boolean {
  return statSync(a).dev === statSync(b).dev;
}
