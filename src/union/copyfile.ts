// The copy engine: one file's data and metadata into a temporary file on a
// target branch, then an atomic rename into place. moveonenospc uses it now;
// overlay copy-up will (one engine, as the brief asks).
//
// Bulk data always moves on the thread pool (never the JS thread), so a
// multi-gigabyte copy-up leaves every other request flowing.
//
// Data goes by the cheapest means that works: FICLONE (a reflink, when both
// sides share a filesystem that can), then copy_file_range (in-kernel), then
// read/write. Metadata follows: owner, mode, xattrs, and atime/mtime last
// (anything done after would move them). Nothing is visible under the final
// name until the rename, so a crash leaves at most a temp file, whose name
// says what it is.
import { randomBytes } from 'node:crypto';
import { Errno, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';

const CHUNK = 1 << 20;
/**
 * copy_file_range per call. Each call costs a few ms of its own on a cold
 * file (a 1 GiB copy-up took 0.35-0.39 s in 64 MiB calls, 0.31-0.35 s in one
 * call; fuse-overlayfs's one sendfile 0.30-0.33 s), so calls are big: one
 * holds a pool thread for about 0.3 s per GiB, while the pool's other threads
 * (16) and the event loop go on serving. Still bounded, so a huge file is
 * copied in steps rather than in one call the kernel caps anyway (~2 GiB).
 */
const COPY_SLICE = 1 << 30;
/** Temp files start with this, so leftovers of a crash can be found and removed. */
export const TEMP_PREFIX = '.braidfs-tmp-';

/** Copies `size` bytes; returns how it was done (for logs and tests). */
export async function copyData(src: number, dst: number, size: number): Promise<'ficlone' | 'copy_file_range' | 'read-write'> {
  try {
    await sys.ficloneOffLoop(dst, src);
    return 'ficlone';
  } catch {
    // not a reflink-capable pair: fall through
  }
  let off = 0;
  try {
    while (off < size) {
      const n = await sys.copyFileRangeOffLoop(src, off, dst, off, Math.min(size - off, COPY_SLICE));
      if (n === 0) break;
      off += n;
    }
    return 'copy_file_range';
  } catch (e) {
    const errno = knownErrno(e);
    if (errno !== Errno.EXDEV && errno !== Errno.EINVAL && errno !== Errno.ENOSYS && errno !== Errno.EOPNOTSUPP) throw e;
  }
  const buf = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const n = await sys.pread(src, buf, off);
    if (n === 0) break;
    let w = 0;
    while (w < n) w += await sys.pwrite(dst, buf.subarray(w, n), off + w);
    off += n;
  }
  return 'read-write';
}

/** Owner, mode, xattrs (except those `skip` names), then times, from `st`/`src` onto `dst`. */
export async function copyMetadata(src: number, st: sys.Stat, dst: number, skip?: (name: Buffer) => boolean): Promise<void> {
  await sys.lchown(dst, sys.SELF, st.uid, st.gid);
  await sys.lchmod(dst, sys.SELF, st.mode & 0o7777);
  const list = await sys.llistxattr(src, sys.SELF, 65536).catch(() => Buffer.alloc(0));
  if (typeof list !== 'number') {
    for (let p = 0; p < list.length; ) {
      const z = list.indexOf(0, p);
      const end = z < 0 ? list.length : z;
      const name = list.subarray(p, end);
      p = end + 1;
      if (name.length === 0 || skip?.(name)) continue;
      const value = await sys.lgetxattr(src, sys.SELF, name, 65536).catch(() => undefined);
      if (value !== undefined && typeof value !== 'number') await sys.lsetxattr(dst, sys.SELF, name, value, 0).catch(() => undefined);
    }
  }
  await sys.lutimens(dst, sys.SELF, { sec: st.atimeSec, nsec: st.atimeNsec }, { sec: st.mtimeSec, nsec: st.mtimeNsec });
}

/**
 * Copies the open file `src` (stat `st`) to `dirFd`/`dirRel`/`name` atomically:
 * through a temp file in the same directory, renamed over the final name.
 */
export async function copyInto(src: number, st: sys.Stat, dirFd: number, dirRel: Buffer, name: Buffer): Promise<void> {
  const tmp = sys.joinPath(dirRel, Buffer.concat([Buffer.from(TEMP_PREFIX), Buffer.from(randomBytes(6).toString('hex'))]));
  const dst = await sys.open(dirFd, tmp, sys.O_WRONLY | sys.O_CREAT | sys.O_EXCL | sys.O_NOFOLLOW, 0o600);
  try {
    await copyData(src, dst, st.size);
    await copyMetadata(src, st, dst);
  } catch (e) {
    sys.closeQuietly(dst);
    await sys.unlink(dirFd, tmp).catch(() => undefined);
    throw e;
  }
  sys.close(dst);
  try {
    await sys.rename2(dirFd, tmp, dirFd, sys.joinPath(dirRel, name), 0);
  } catch (e) {
    await sys.unlink(dirFd, tmp).catch(() => undefined);
    throw e;
  }
}
