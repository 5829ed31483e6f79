// Typed syscall wrappers over node:fs and the native addon.
// Paths are Buffers end to end so that non-UTF-8 names survive untouched.
// Every function either resolves or throws an FsError / Node fs error; the
// caller never sees a negative number.
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { native } from '../native/index.js';
import { check } from './errno.js';

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

export async function lstat(path: Path): Promise<Stat> {
  const out = new BigInt64Array(16);
  check(await native.lstat(path, out), 'lstat', path);
  return toStat(out);
}

export async function fstat(fd: number): Promise<Stat> {
  const out = new BigInt64Array(16);
  check(await native.fstat(fd, out), 'fstat');
  return toStat(out);
}

export async function statvfs(path: Path): Promise<StatVfs> {
  const o = new BigInt64Array(9);
  check(await native.statvfs(path, o), 'statvfs', path);
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
}

export async function readdir(path: Path): Promise<DirEntry[]> {
  const r = await native.readdir(path);
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

export async function mknod(path: Path, mode: number, dev: number): Promise<void> {
  check(await native.mknod(path, mode, dev), 'mknod', path);
}

export async function rename2(from: Path, to: Path, flags: number): Promise<void> {
  check(await native.renameat2(from, to, flags), 'renameat2', from);
}

export async function lchmod(path: Path, mode: number): Promise<void> {
  check(await native.lchmod(path, mode), 'fchmodat', path);
}

export interface TimeSpec {
  sec: number;
  nsec: number;
}
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

export async function lutimens(path: Path, atime: TimeSpec, mtime: TimeSpec): Promise<void> {
  check(await native.utimensat(path, atime.sec, atime.nsec, mtime.sec, mtime.nsec), 'utimensat', path);
}

export async function futimens(fd: number, atime: TimeSpec, mtime: TimeSpec): Promise<void> {
  check(await native.futimens(fd, atime.sec, atime.nsec, mtime.sec, mtime.nsec), 'futimens');
}

// --- xattrs: a zero-length buffer asks for the size only.
export async function lgetxattr(path: Path, name: Buffer, size: number): Promise<Buffer | number> {
  const out = Buffer.allocUnsafe(size);
  const n = check(await native.lgetxattr(path, name, out), 'lgetxattr', path);
  return size === 0 ? n : out.subarray(0, n);
}
export async function fgetxattr(fd: number, name: Buffer, size: number): Promise<Buffer | number> {
  const out = Buffer.allocUnsafe(size);
  const n = check(await native.fgetxattr(fd, name, out), 'fgetxattr');
  return size === 0 ? n : out.subarray(0, n);
}
export async function llistxattr(path: Path, size: number): Promise<Buffer | number> {
  const out = Buffer.allocUnsafe(size);
  const n = check(await native.llistxattr(path, out), 'llistxattr', path);
  return size === 0 ? n : out.subarray(0, n);
}
export async function flistxattr(fd: number, size: number): Promise<Buffer | number> {
  const out = Buffer.allocUnsafe(size);
  const n = check(await native.flistxattr(fd, out), 'flistxattr');
  return size === 0 ? n : out.subarray(0, n);
}
export async function lsetxattr(path: Path, name: Buffer, value: Buffer, flags: number): Promise<void> {
  check(await native.lsetxattr(path, name, value, flags), 'lsetxattr', path);
}
export async function fsetxattr(fd: number, name: Buffer, value: Buffer, flags: number): Promise<void> {
  check(await native.fsetxattr(fd, name, value, flags), 'fsetxattr');
}
export async function lremovexattr(path: Path, name: Buffer): Promise<void> {
  check(await native.lremovexattr(path, name), 'lremovexattr', path);
}
export async function fremovexattr(fd: number, name: Buffer): Promise<void> {
  check(await native.fremovexattr(fd, name), 'fremovexattr');
}

export async function fallocate(fd: number, mode: number, offset: number, length: number): Promise<void> {
  check(await native.fallocate(fd, mode, offset, length), 'fallocate');
}
export async function lseek(fd: number, offset: number, whence: number): Promise<number> {
  return check(await native.lseek(fd, offset, whence), 'lseek');
}
export async function copyFileRange(fdIn: number, offIn: number, fdOut: number, offOut: number, len: number, flags: number): Promise<number> {
  return check(await native.copyFileRange(fdIn, offIn, fdOut, offOut, len, flags), 'copy_file_range');
}
export async function ficlone(destFd: number, srcFd: number): Promise<void> {
  check(await native.ficlone(destFd, srcFd), 'ioctl(FICLONE)');
}

// --- node:fs, promisified callback forms (numeric fds, no FileHandle objects)
export const open: (path: Path, flags: number, mode?: number) => Promise<number> = promisify(fs.open);
export const close: (fd: number) => Promise<void> = promisify(fs.close);
export const fsync: (fd: number) => Promise<void> = promisify(fs.fsync);
export const fdatasync: (fd: number) => Promise<void> = promisify(fs.fdatasync);
export const ftruncate: (fd: number, len: number) => Promise<void> = promisify(fs.ftruncate);
export const truncate: (path: Path, len: number) => Promise<void> = promisify(fs.truncate);
export const mkdir: (path: Path, mode: number) => Promise<void> = promisify(fs.mkdir);
export const rmdir: (path: Path) => Promise<void> = promisify(fs.rmdir);
export const unlink: (path: Path) => Promise<void> = promisify(fs.unlink);
export const symlink: (target: Buffer, path: Path) => Promise<void> = promisify(fs.symlink);
export const link: (existing: Path, path: Path) => Promise<void> = promisify(fs.link);
export const lchown: (path: Path, uid: number, gid: number) => Promise<void> = promisify(fs.lchown);
export const fchown: (fd: number, uid: number, gid: number) => Promise<void> = promisify(fs.fchown);
export const fchmod: (fd: number, mode: number) => Promise<void> = promisify(fs.fchmod);

export function readlink(path: Path): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    fs.readlink(path, { encoding: 'buffer' }, (err, target) => (err ? reject(err) : resolve(target)));
  });
}

export function pread(fd: number, buf: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, buf.length, offset, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

export function pwrite(fd: number, buf: Uint8Array, offset: number | null): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, buf, 0, buf.length, offset, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Joins a branch-relative path onto a root without any string decoding. */
export function joinPath(root: Buffer, rel: Buffer): Buffer {
  if (rel.length === 0) return root;
  return Buffer.concat([root, SLASH, rel]);
}
const SLASH = Buffer.from('/');
