// Recreates a directory chain on a target branch, copying each directory's
// metadata from the branch that has it (mergerfs's clonepath): mode, owner,
// xattrs, then times. A create policy may pick a branch that lacks the
// parent directory; the chain is cloned there first.
//
// Times go on last and deepest first: creating a child directory changes
// its parent's mtime, so setting times top-down would not stick.
import { Errno, FsError, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';

export interface CloneOptions {
  /** xattr names that must not be copied (e.g. overlay-private ones). */
  skipXattr?: (name: Buffer) => boolean;
}

const SLASH = 0x2f;

/** The proper prefixes of a relative path, shortest first: a/b/c → a, a/b, a/b/c. */
export function prefixes(rel: Buffer): Buffer[] {
  const out: Buffer[] = [];
  if (rel.length === 0) return out;
  for (let i = 0; i < rel.length; i++) if (rel[i] === SLASH) out.push(rel.subarray(0, i));
  out.push(rel);
  return out;
}

export async function copyXattrs(fromFd: number, from: Buffer, toFd: number, to: Buffer, opts: CloneOptions): Promise<void> {
  let list: Buffer | number;
  try {
    list = await sys.llistxattr(fromFd, from, 65536);
  } catch (e) {
    if (knownErrno(e) === Errno.ENOTSUP || knownErrno(e) === Errno.EOPNOTSUPP) return;
    throw e;
  }
  if (typeof list === 'number') return;
  for (let p = 0; p < list.length; ) {
    const z = list.indexOf(0, p);
    const end = z < 0 ? list.length : z;
    const name = list.subarray(p, end);
    p = end + 1;
    if (name.length === 0 || opts.skipXattr?.(name)) continue;
    try {
      const value = await sys.lgetxattr(fromFd, from, name, 65536);
      if (typeof value !== 'number') await sys.lsetxattr(toFd, to, name, value, 0);
    } catch (e) {
      // Like mergerfs: a filesystem that cannot hold an attribute is not an error.
      const errno = knownErrno(e);
      if (errno !== Errno.ENOTSUP && errno !== Errno.EOPNOTSUPP && errno !== Errno.ENODATA && errno !== Errno.EPERM) throw e;
    }
  }
}

/**
 * Makes sure every directory of `relDir` exists beneath `toFd`, cloning the
 * missing ones from beneath `fromFd`. Returns how many were created.
 */
export async function clonePath(fromFd: number, toFd: number, relDir: Buffer, opts: CloneOptions = {}): Promise<number> {
  const created: Array<{ path: Buffer; st: sys.Stat }> = [];
  for (const p of prefixes(relDir)) {
    try {
      const have = await sys.lstat(toFd, p);
      if (!sys.isDir(have.mode)) throw new FsError(Errno.ENOTDIR, 'clonepath', p);
      continue;
    } catch (e) {
      if (knownErrno(e) !== Errno.ENOENT) throw e;
    }
    const st = await sys.lstat(fromFd, p);
    if (!sys.isDir(st.mode)) throw new FsError(Errno.ENOTDIR, 'clonepath', p);
    try {
      await sys.mkdir(toFd, p, st.mode & 0o7777);
    } catch (e) {
      if (knownErrno(e) === Errno.EEXIST) continue; // someone else made it meanwhile
      throw e;
    }
    await sys.lchown(toFd, p, st.uid, st.gid);
    // mkdir applies no umask here (the daemon's is 0) but chown may clear
    // setgid on some filesystems; set the mode explicitly after the owner.
    await sys.lchmod(toFd, p, st.mode & 0o7777);
    await copyXattrs(fromFd, p, toFd, p, opts);
    created.push({ path: p, st });
  }
  for (let i = created.length - 1; i >= 0; i--) {
    const { path, st } = created[i]!;
    await sys.lutimens(toFd, path, { sec: st.atimeSec, nsec: st.atimeNsec }, { sec: st.mtimeSec, nsec: st.mtimeNsec });
  }
  return created.length;
}
