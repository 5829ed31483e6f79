// Loads the C addon and declares its exact interface.
// Every function returns (or resolves to) a number >= 0 on success and
// -errno on failure; src/sys turns the negative ones into FsError.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export type PathArg = Buffer | string;

export interface NativeAddon {
  devOpen(): number;
  close(fd: number): number;
  mount(source: PathArg, target: PathArg, fstype: string, flags: number, data: string): number;
  umount2(target: PathArg, flags: number): number;
  /** Mounts through fusermount3; resolves the /dev/fuse fd or -errno. */
  fusermount(mountpoint: PathArg, options: string): number;
  ioctlClone(newFd: number, srcFd: number): number;
  backingOpen(devFd: number, fd: number): number;
  backingClose(devFd: number, backingId: number): number;
  writev(fd: number, buffers: readonly Uint8Array[]): number;
  startReader(fd: number, bufsize: number, onMessage: (buf: Buffer | null, errno: number) => void): number;

  lstat(path: PathArg, out: BigInt64Array): Promise<number>;
  fstat(fd: number, out: BigInt64Array): Promise<number>;
  mknod(path: PathArg, mode: number, dev: number): Promise<number>;
  renameat2(from: PathArg, to: PathArg, flags: number): Promise<number>;
  lsetxattr(path: PathArg, name: PathArg, value: Uint8Array, flags: number): Promise<number>;
  lgetxattr(path: PathArg, name: PathArg, out: Uint8Array): Promise<number>;
  llistxattr(path: PathArg, out: Uint8Array): Promise<number>;
  lremovexattr(path: PathArg, name: PathArg): Promise<number>;
  fsetxattr(fd: number, name: PathArg, value: Uint8Array, flags: number): Promise<number>;
  fgetxattr(fd: number, name: PathArg, out: Uint8Array): Promise<number>;
  flistxattr(fd: number, out: Uint8Array): Promise<number>;
  fremovexattr(fd: number, name: PathArg): Promise<number>;
  utimensat(path: PathArg, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): Promise<number>;
  futimens(fd: number, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): Promise<number>;
  fallocate(fd: number, mode: number, offset: number, length: number): Promise<number>;
  lseek(fd: number, offset: number, whence: number): Promise<number>;
  copyFileRange(fdIn: number, offIn: number, fdOut: number, offOut: number, len: number, flags: number): Promise<number>;
  ficlone(destFd: number, srcFd: number): Promise<number>;
  statvfs(path: PathArg, out: BigInt64Array): Promise<number>;
  /** Packed entries: { u64 ino; u8 type; u8 pad; u16 namelen; name } repeated. */
  readdir(path: PathArg): Promise<Buffer | number>;
  lchmod(path: PathArg, mode: number): Promise<number>;
  /** write(2) on the thread pool: for FUSE notifications, which can block. */
  writeAsync(fd: number, buf: Uint8Array): Promise<number>;
  linkFollow(from: PathArg, to: PathArg): Promise<number>;
  /** statx(2) of a path (fd = -1) or of an fd (path ignored); out holds 20 slots. */
  statx(path: PathArg, fd: number, mask: number, out: BigInt64Array): Promise<number>;
}

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  // dist/src/native/index.js → <root>/build/Release; also works from src/ via tsx-like loaders.
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, '..', '..', '..', 'build', 'Release', 'braidfs_native.node'),
    join(here, '..', '..', 'build', 'Release', 'braidfs_native.node'),
  ];
  let lastError: unknown;
  for (const c of candidates) {
    try {
      return require(c) as NativeAddon;
    } catch (e) {
      lastError = e;
    }
  }
  throw new Error(`braidfs: the native addon is not built (run npm ci or npm run build): ${String(lastError)}`);
}

export const native: NativeAddon = load();
