// Typed syscall wrappers over the native addon and node:fs.
//
// Path operations take (dir, path): `dir` is a directory fd (a branch root,
// opened once with O_PATH) and `path` is relative to it, so a path is never
// longer than it is inside the mount (PATH_MAX applies to the part under the
// mount, as on a plain filesystem), and a symlink swapped in for a parent
// directory on disk cannot be followed out of the branch root by a name.
// An empty path means the fd itself (AT_EMPTY_PATH): how a file that lost
// its name is reached through an open fd.
//
// Paths are Buffers end to end so that non-UTF-8 names survive untouched.
// Every function resolves or throws an FsError / Node fs error.
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { native, syscalls, type Syscalls } from '../native/index.js';
import { check, FsError } from './errno.js';
import { then, type MaybePromise } from '../../policies/maybe.js';

export type Path = Buffer;

export interface Stat {
  dev: bigint;
  ino: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeSec: number;
  atimeNsec: number;
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
}

export interface StatX extends Stat {
  btime: { sec: number; nsec: number } | undefined;
}

export interface StatVfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namemax: number;
  flag: number;
}

export interface DirEntry {
  ino: bigint;
  type: number; // DT_*
  name: Buffer;
}

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export const isDir = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isReg = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
export const isLnk = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_DIRECT = 0o40000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_TMPFILE = 0o20200000;
export const AT_REMOVEDIR = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;

/**
 * Syscalls run on the JS thread by default: on a local disk a metadata call
 * takes microseconds, far less than the two thread hops of the pool. The
 * pool (async) is for branches on slow or remote disks, where one slow call
 * must not stall every other request.
 */
const SYNC: Syscalls = syscalls(true);
let S: Syscalls = SYNC;
export function setSyscallMode(mode: 'sync' | 'async'): void {
  S = mode === 'sync' ? SYNC : syscalls(false);
}

/** Branch syscalls run on the JS thread (syscalls=inline or auto), save for slow branches' fds. */
export function inlineSyscalls(): boolean {
  return S === SYNC;
}

/** The thread-pool table, whatever the mode. */
const POOL: Syscalls = syscalls(false);

/**
 * Fds on slow branches (network or FUSE filesystems, spinning disks that
 * may be asleep): their syscalls always go to the thread pool, so one such
 * branch stalls only the requests that touch it, never the event loop.
 * An fd opened beneath a slow fd is slow too (see open), so handles and
 * directory fds inherit it; close forgets it.
 */
const slowFds = new Set<number>();
export function markSlow(fd: number): void {
  slowFds.add(fd);
}
export function isSlow(fd: number): boolean {
  return slowFds.has(fd);
}
const on = (dir: number): Syscalls => (slowFds.size !== 0 && slowFds.has(dir) ? POOL : S);

/** The fd itself, in an *at() call. */
export const SELF = Buffer.alloc(0);

function toStat(a: BigInt64Array): Stat {
  return {
    dev: a[0]!,
    ino: BigInt.asUintN(64, a[1]!),
    mode: Number(a[2]!),
    nlink: Number(a[3]!),
    uid: Number(a[4]!),
    gid: Number(a[5]!),
    rdev: Number(a[6]!),
    size: Number(a[7]!),
    blksize: Number(a[8]!),
    blocks: Number(a[9]!),
    atimeSec: Number(a[10]!),
    atimeNsec: Number(a[11]!),
    mtimeSec: Number(a[12]!),
    mtimeNsec: Number(a[13]!),
    ctimeSec: Number(a[14]!),
    ctimeNsec: Number(a[15]!),
  };
}

export function openPath(path: Path): number {
  return check(native.openPath(path), 'open(O_PATH)', path);
}

/**
 * The result array of JS-thread stat calls, reused: it is read back before
 * anything else can run. A fresh typed array per call costs a malloc'd
 * backing store and GC sweeping work, and stat is the hottest syscall.
 */
const SYNC_STAT_OUT = new BigInt64Array(16);

/** A promise of what `f` returns or throws, for callers that want one either way. */
function settled<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

export function lstat(dir: number, path: Path): Promise<Stat> {
  return settled(() => lstatNow(dir, path));
}

/** lstat for the hot path: the Stat itself when the call ran on the JS thread (may throw), else a promise. */
export function lstatNow(dir: number, path: Path): MaybePromise<Stat> {
  return statAt(dir, path, NO_ERRNOS) as MaybePromise<Stat>;
}

/**
 * lstat that answers undefined when it fails with one of `missing` (ENOENT,
 * ENOTDIR…), without building an error: "not on this branch" is the most
 * common answer a branch probe gets, twice per negative lookup on a pool.
 * Like lstatNow, a value when the call ran on the JS thread.
 */
export function lstatIfPresent(dir: number, path: Path, missing: ReadonlySet<number>): MaybePromise<Stat | undefined> {
  return statAt(dir, path, missing);
}

const NO_ERRNOS: ReadonlySet<number> = new Set();

function statAt(dir: number, path: Path, missing: ReadonlySet<number>): MaybePromise<Stat | undefined> {
  const t = on(dir);
  if (t === SYNC) {
    const r = SYNC.statat(dir, path, SYNC_STAT_OUT) as number; // the JS-thread table answers at once
    if (r >= 0) return toStat(SYNC_STAT_OUT);
    if (missing.has(-r)) return undefined;
    throw new FsError(-r, 'fstatat', path);
  }
  const out = new BigInt64Array(16);
  return Promise.resolve(t.statat(dir, path, out)).then((r) => {
    if (r >= 0) return toStat(out);
    if (missing.has(-r)) return undefined;
    throw new FsError(-r, 'fstatat', path);
  });
}

export function fstat(fd: number): Promise<Stat> {
  return lstat(fd, SELF);
}

const STATX_BTIME = 0x800;
export async function statx(dir: number, path: Path, mask: number): Promise<StatX> {
  const out = new BigInt64Array(20);
  check(await on(dir).statxat(dir, path, mask, out), 'statx', path);
  const st = toStat(out) as StatX;
  st.btime = Number(out[18]!) & STATX_BTIME ? { sec: Number(out[16]!), nsec: Number(out[17]!) } : undefined;
  return st;
}

/** statvfs of an fd: a value when it ran on the JS thread, else a promise. */
export function fstatvfs(fd: number): MaybePromise<StatVfs> {
  const o = new BigInt64Array(9);
  return then(on(fd).fstatvfs(fd, o), (r) => {
    check(r, 'fstatvfs');
    return {
      bsize: Number(o[0]!),
      frsize: Number(o[1]!),
      blocks: Number(o[2]!),
      bfree: Number(o[3]!),
      bavail: Number(o[4]!),
      files: Number(o[5]!),
      ffree: Number(o[6]!),
      namemax: Number(o[7]!),
      flag: Number(o[8]!),
    };
  });
}

export async function readdir(dir: number, path: Path): Promise<DirEntry[]> {
  const r = await on(dir).readdirat(dir, path);
  if (typeof r === 'number') {
    check(r, 'readdir', path);
    return [];
  }
  const out: DirEntry[] = [];
  for (let p = 0; p + 12 <= r.length; ) {
    const len = r.readUInt16LE(p + 10);
    out.push({ ino: r.readBigUInt64LE(p), type: r[p + 8]!, name: r.subarray(p + 12, p + 12 + len) });
    p += 12 + len;
  }
  return out;
}

/**
 * openat, or undefined when the errno is in `missing` (no Error built: a
 * directory listed on a pool is absent from most branches). At once when
 * the call runs on the JS thread, like lstatIfPresent.
 */
export function openIfPresent(dir: number, path: Path, flags: number, missing: ReadonlySet<number>): MaybePromise<number | undefined> {
  const settle = (r: number): number | undefined => {
    if (r >= 0) {
      if (slowFds.has(dir)) slowFds.add(r);
      return r;
    }
    if (missing.has(-r)) return undefined;
    throw new FsError(-r, 'openat', path);
  };
  const t = on(dir);
  if (t === SYNC) return settle(SYNC.openat(dir, path, flags, 0) as number);
  return Promise.resolve(t.openat(dir, path, flags, 0)).then(settle);
}

export async function open(dir: number, path: Path, flags: number, mode = 0): Promise<number> {
  const fd = check(await on(dir).openat(dir, path, flags, mode), 'openat', path);
  if (slowFds.has(dir)) slowFds.add(fd);
  return fd;
}
export async function mkdir(dir: number, path: Path, mode: number): Promise<void> {
  check(await on(dir).mkdirat(dir, path, mode), 'mkdirat', path);
}
export async function mknod(dir: number, path: Path, mode: number, dev: number): Promise<void> {
  check(await on(dir).mknodat(dir, path, mode, dev), 'mknodat', path);
}
export async function symlink(target: Buffer, dir: number, path: Path): Promise<void> {
  check(await on(dir).symlinkat(target, dir, path), 'symlinkat', path);
}
export async function link(fromDir: number, from: Path, toDir: number, to: Path, flags = 0): Promise<void> {
  check(await on(fromDir).linkat(fromDir, from, toDir, to, flags), 'linkat', to);
}
export async function unlink(dir: number, path: Path): Promise<void> {
  check(await on(dir).unlinkat(dir, path, 0), 'unlinkat', path);
}
export async function rmdir(dir: number, path: Path): Promise<void> {
  check(await on(dir).unlinkat(dir, path, AT_REMOVEDIR), 'unlinkat', path);
}
export async function rename2(fromDir: number, from: Path, toDir: number, to: Path, flags: number): Promise<void> {
  check(await on(fromDir).renameat2(fromDir, from, toDir, to, flags), 'renameat2', from);
}
export async function readlink(dir: number, path: Path): Promise<Buffer> {
  const r = await on(dir).readlinkat(dir, path);
  if (typeof r === 'number') {
    check(r, 'readlinkat', path);
    return Buffer.alloc(0);
  }
  return r;
}
/** chown without following a final symlink; -1 leaves an id alone. */
export async function lchown(dir: number, path: Path, uid: number, gid: number): Promise<void> {
  check(await on(dir).fchownat(dir, path, uid >>> 0, gid >>> 0), 'fchownat', path);
}
export async function lchmod(dir: number, path: Path, mode: number): Promise<void> {
  check(await on(dir).fchmodat(dir, path, mode), 'fchmodat', path);
}
export async function truncate(dir: number, path: Path, length: number): Promise<void> {
  check(await on(dir).truncateat(dir, path, length), 'truncate', path);
}

export interface TimeSpec {
  sec: number;
  nsec: number;
}
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

export async function lutimens(dir: number, path: Path, atime: TimeSpec, mtime: TimeSpec): Promise<void> {
  check(await on(dir).utimensat(dir, path, atime.sec, atime.nsec, mtime.sec, mtime.nsec), 'utimensat', path);
}

// --- xattrs (never following a final symlink): a zero size asks for the length only.
export async function lgetxattr(dir: number, path: Path, name: Buffer, size: number): Promise<Buffer | number> {
  const out = Buffer.allocUnsafe(size);
  const n = check(await on(dir).getxattrat(dir, path, name, out), 'getxattr', path);
  return size === 0 ? n : out.subarray(0, n);
}
export async function llistxattr(dir: number, path: Path, size: number): Promise<Buffer | number> {
  const out = Buffer.allocUnsafe(size);
  const n = check(await on(dir).listxattrat(dir, path, out), 'listxattr', path);
  return size === 0 ? n : out.subarray(0, n);
}
export async function lsetxattr(dir: number, path: Path, name: Buffer, value: Buffer, flags: number): Promise<void> {
  check(await on(dir).setxattrat(dir, path, name, value, flags), 'setxattr', path);
}
export async function lremovexattr(dir: number, path: Path, name: Buffer): Promise<void> {
  check(await on(dir).removexattrat(dir, path, name), 'removexattr', path);
}

export async function fallocate(fd: number, mode: number, offset: number, length: number): Promise<void> {
  check(await on(fd).fallocate(fd, mode, offset, length), 'fallocate');
}
export async function lseek(fd: number, offset: number, whence: number): Promise<number> {
  return check(await on(fd).lseek(fd, offset, whence), 'lseek');
}
export async function copyFileRange(fdIn: number, offIn: number, fdOut: number, offOut: number, len: number, flags: number): Promise<number> {
  return check(await on(fdIn).copyFileRange(fdIn, offIn, fdOut, offOut, len, flags), 'copy_file_range');
}
export async function ficlone(destFd: number, srcFd: number): Promise<void> {
  check(await on(destFd).ficlone(destFd, srcFd), 'ioctl(FICLONE)');
}

// Bulk copies always run on the thread pool, whatever the syscall mode: a
// copy-up of gigabytes must not stall every other request on the JS thread.
export async function copyFileRangeOffLoop(fdIn: number, offIn: number, fdOut: number, offOut: number, len: number): Promise<number> {
  return check(await POOL.copyFileRange(fdIn, offIn, fdOut, offOut, len, 0), 'copy_file_range');
}
export async function ficloneOffLoop(destFd: number, srcFd: number): Promise<void> {
  check(await POOL.ficlone(destFd, srcFd), 'ioctl(FICLONE)');
}

// --- fd operations through node:fs. close never waits on the disk, so it
// runs on this thread; fsync can take seconds, so it goes to the pool.
export function close(fd: number): void {
  slowFds.delete(fd);
  fs.closeSync(fd);
}
/** Close on an error path, where a second error would only hide the first. */
export function closeQuietly(fd: number): void {
  slowFds.delete(fd);
  try {
    fs.closeSync(fd);
  } catch {
    // the original error is what the caller reports
  }
}
export const fsync: (fd: number) => Promise<void> = promisify(fs.fsync);
export const fdatasync: (fd: number) => Promise<void> = promisify(fs.fdatasync);

/**
 * Reads and writes up to this size on a local (not slow) branch run on the
 * JS thread, as metadata calls do: a 4 KiB pread from the page cache takes
 * microseconds, the thread-pool round trip many times that. Bigger
 * transfers go to the pool, so one large copy cannot stall the other
 * requests for long.
 */
const INLINE_IO_MAX = 256 * 1024;
const inlineIo = (fd: number, len: number): boolean => S === SYNC && len <= INLINE_IO_MAX && !slowFds.has(fd);

export function pread(fd: number, buf: Buffer, offset: number): Promise<number> {
  if (inlineIo(fd, buf.length)) return settled(() => fs.readSync(fd, buf, 0, buf.length, offset));
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, buf.length, offset, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

export function pwrite(fd: number, buf: Uint8Array, offset: number | null): Promise<number> {
  if (inlineIo(fd, buf.length)) return settled(() => fs.writeSync(fd, buf, 0, buf.length, offset));
  return new Promise((resolve, reject) => {
    fs.write(fd, buf, 0, buf.length, offset, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

const SLASH = Buffer.from('/');
/** Joins a relative path and a name without any string decoding. */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0 || (dir.length === 1 && dir[0] === 0x2e)) return name;
  return Buffer.concat([dir, SLASH, name]);
}

/** The directory part of a relative path ('' for a name at the root). */
export function dirPart(rel: Buffer): Buffer {
  const slash = rel.lastIndexOf(0x2f);
  return slash < 0 ? Buffer.alloc(0) : rel.subarray(0, slash);
}

/** The last component of a relative path. */
export function basePart(rel: Buffer): Buffer {
  return rel.subarray(rel.lastIndexOf(0x2f) + 1);
}
