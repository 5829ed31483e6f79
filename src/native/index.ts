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
  /** One reply to /dev/fuse (out_header built in C; the body only with errno 0): bytes written or -errno. */
  reply(fd: number, unique: bigint, errno: number, body?: Uint8Array): number;
  startReader(fd: number, bufsize: number, onMessage: (buf: Buffer | null, errno: number) => void): number;
  /**
   * Reads /dev/fuse on the event loop (non-blocking fd + uv_poll). Unlike
   * startReader, a small request arrives in one reused buffer (its first
   * `len` bytes), valid only during the call: copy what must outlive it;
   * `slot` is then -1. A big one (a large WRITE) arrives in read slot
   * `slot` (≥ 0), which stays the request's until releaseReadSlot(slot),
   * called once the request is answered.
   */
  /**
   * A READDIRPLUS reply for entries [from, end) of a readdirMergedSync result,
   * written into `out`: each name stat'ed beneath dirFds[its branch index]
   * (O_PATH fds of `rel`, or -1), attributes and shown inode number filled
   * in, nodeid 0 (the caller writes it). info gets [st_dev, st_ino, st_mode |
   * branch << 32] per entry, zeros for a name sent without attributes ("."
   * "..", a failed stat). With `dirsOnly`, only names listed as directories
   * are stat'ed; the rest go without attributes. Bytes written, or -errno.
   * JS thread only.
   */
  readdirPlusSync(
    listing: Buffer,
    from: number,
    end: number,
    dirFds: readonly number[],
    out: Buffer,
    entrySec: number,
    attrSec: number,
    rel: Buffer,
    calc: number,
    seeds: Buffer,
    info: BigUint64Array,
    dirsOnly: boolean,
  ): number;
  /** Registers the stat'ed names of such a reply (nodeids filled in) as served names; info[3k] becomes the pending count of the entry each replaced. */
  serveListedNames(parent: bigint, rel: Buffer, out: Buffer, bytes: number, info: BigUint64Array): number;
  /** How long the poll reader keeps reading /dev/fuse after a burst before it sleeps, in ns (0: never). */
  setPollSpin(ns: number): void;
  /** [spins begun, spins that a request ended] since the process started. */
  pollSpinStats(): number[];
  startPollReader(fd: number, bufsize: number, onMessage: (buf: Buffer | null, errno: number, len: number, slot: number) => void): number;
  releaseReadSlot(slot: number): void;
  /**
   * From now on the poll reader answers READ and WRITE for `fh` itself, on
   * `fd` (flags: SERVED_KILL_IN_JS). Call unserveFile before that fd is
   * closed or replaced. JS thread only.
   */
  serveFile(fh: number, fd: number, flags: number): number;
  unserveFile(fh: number): void;
  /** What the addon answered, [count, ms] of each: READ, WRITE, LOOKUP of a served name, LOOKUP of a name nowhere, GETATTR, UNLINK, GETXATTR security.capability. */
  servedStats(): number[];
  /** How many of the LOOKUPs answered here found something other than a directory, ever. */
  servedFileLookups(): number;
  /**
   * OPENDIR of served directories answered by the addon from now on, with
   * these fuse_open_out flags (-1: no more; handles already given out stay
   * served). Their fhs are ADDON_DIR_FH and up (served-dirs.ts).
   */
  serveDirs(openFlags: number): void;
  /**
   * [node, branch index, fd, listing?] of an addon directory handle, JS's
   * from now on (the fd too), with the listing the addon made for it if any
   * (readdirMergedSync's packed form), or null.
   */
  adoptDir(fh: number): [bigint, number, number, Buffer?] | null;
  /**
   * Whether the addon lists its directory handles itself (names only, the
   * whole listing in the first reply, when it fits): `calc` and `seeds` as
   * readdirMergedSync takes them, for the branches serving started with.
   */
  serveListings(on: boolean, calc: number, seeds: Buffer): number;
  /**
   * SETATTR of a served node's owner, mode and times answered by the addon
   * from now on, as chown, chmod and utimens under epall do it (`modes` as
   * serveLookups's unlinkModes); null: JS answers them. Stops with serveLookups(null).
   */
  serveSetattrs(modes: Buffer | null): number;
  /** The addon's listings since the last call: [dir node, non-directory names, servedFileLookups() then] each, or null. */
  takeListings(): BigUint64Array | null;
  /** The fhs of addon directory handles of `node` that JS has not taken over. */
  dirHandlesOf(node: bigint): number[];
  /** The listing JS gives for addon directory handle `fh` ends at offset `end` (-1: not reached); the addon answers READDIR there. */
  dirListingEnd(fh: number, end: number): void;
  /**
   * The poll reader answers LOOKUP(parent, name) itself while the getattr
   * search finds this same file again (addon.c "Names served here").
   * Returns the LOOKUPs answered for an entry it replaces, or -errno.
   */
  serveName(parent: bigint, name: Uint8Array, node: bigint, path: Uint8Array, branch: number, dev: bigint, ino: bigint, type: number, shownIno: bigint): number;
  /** LOOKUPs of parent/name answered by the addon since last asked; `drop` forgets the name too. */
  takeLookups(parent: bigint, name: Uint8Array, drop: boolean): number;
  /**
   * Start answering LOOKUPs and GETATTRs of served names, and LOOKUPs of
   * names nowhere below served directories (branch root fds in list order,
   * the entry, attr and negative-entry timeouts), or stop for good (null).
   * With `unlinkModes` (a byte per branch: 1 RW or NC, 2 RO), UNLINKs below
   * served directories too, as the action policy epall does them; each is
   * then delivered to JS marked answered (slot -2), for its bookkeeping.
   * `capability`: GETXATTR security.capability of a served node is answered
   * too, 1 with the file's attribute (the getxattr search is ff), 2 with
   * ENODATA; 0 leaves it to JS.
   */
  serveLookups(branchFds: readonly number[] | null, entrySec?: number, attrSec?: number, negativeSec?: number, unlinkModes?: Buffer | null, capability?: number): number;
  /**
   * The union of open directories (fd < 0: none on that branch) of the
   * directory `rel`, first fd wins a name, as READDIR records (struct
   * fuse_dirent, shown inode number per `calc`, a ListingCalc code, with
   * `seeds` the devino seed of each fd's branch as [lo u32][hi u32]; off =
   * index + 1): [u32 count][u32 L][L bytes of records][u32 offsets,
   * count + 1][u8 fd index, count], or -errno. JS thread only.
   */
  readdirMergedSync(fds: readonly number[], rel: Buffer, calc: number, seeds: Buffer): Buffer | number;

  /** open(path, O_PATH|O_DIRECTORY): the directory fd that *at() calls are relative to. */
  openPath(path: PathArg): number;

  // *at() calls: `dir` is a directory fd; an empty path means `dir` itself.
  statat(dir: number, path: PathArg, out: BigInt64Array): Promise<number>;
  /** statx; out holds 20 slots (16 as statat, then btime s/ns, mask, attributes). */
  statxat(dir: number, path: PathArg, mask: number, out: BigInt64Array): Promise<number>;
  openat(dir: number, path: PathArg, flags: number, mode: number): Promise<number>;
  mkdirat(dir: number, path: PathArg, mode: number): Promise<number>;
  mknodat(dir: number, path: PathArg, mode: number, dev: number): Promise<number>;
  symlinkat(target: PathArg, dir: number, path: PathArg): Promise<number>;
  linkat(fromDir: number, from: PathArg, toDir: number, to: PathArg, flags: number): Promise<number>;
  unlinkat(dir: number, path: PathArg, flags: number): Promise<number>;
  renameat2(fromDir: number, from: PathArg, toDir: number, to: PathArg, flags: number): Promise<number>;
  readlinkat(dir: number, path: PathArg): Promise<Buffer | number>;
  fchownat(dir: number, path: PathArg, uid: number, gid: number): Promise<number>;
  fchmodat(dir: number, path: PathArg, mode: number): Promise<number>;
  utimensat(dir: number, path: PathArg, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): Promise<number>;
  truncateat(dir: number, path: PathArg, length: number): Promise<number>;
  /** Packed entries: { u64 ino; u8 type; u8 pad; u16 namelen; name } repeated. */
  readdirat(dir: number, path: PathArg): Promise<Buffer | number>;
  getxattrat(dir: number, path: PathArg, name: PathArg, out: Uint8Array): Promise<number>;
  setxattrat(dir: number, path: PathArg, name: PathArg, value: Uint8Array, flags: number): Promise<number>;
  listxattrat(dir: number, path: PathArg, out: Uint8Array): Promise<number>;
  removexattrat(dir: number, path: PathArg, name: PathArg): Promise<number>;
  fstatvfs(fd: number, out: BigInt64Array): Promise<number>;

  fallocate(fd: number, mode: number, offset: number, length: number): Promise<number>;
  lseek(fd: number, offset: number, whence: number): Promise<number>;
  copyFileRange(fdIn: number, offIn: number, fdOut: number, offOut: number, len: number, flags: number): Promise<number>;
  ficlone(destFd: number, srcFd: number): Promise<number>;
  /** write(2) on the thread pool: for FUSE notifications, which can block. */
  writeAsync(fd: number, buf: Uint8Array): Promise<number>;
}

/** The syscalls that exist in both forms: `x` on the thread pool, `xSync` on the JS thread. */
export const SYSCALL_NAMES = [
  'statat', 'statxat', 'openat', 'mkdirat', 'mknodat', 'symlinkat', 'linkat', 'unlinkat', 'renameat2',
  'readlinkat', 'fchownat', 'fchmodat', 'utimensat', 'truncateat', 'readdirat', 'getxattrat', 'setxattrat',
  'listxattrat', 'removexattrat', 'fstatvfs', 'fallocate', 'lseek', 'copyFileRange', 'ficlone', 'writeAsync',
] as const;
export type SyscallName = (typeof SYSCALL_NAMES)[number];

type EitherWay<F> = F extends (...a: infer A) => Promise<infer R> ? (...a: A) => R | Promise<R> : never;
/** A syscall table whose calls return a value (sync) or a promise (async); `await` takes either. */
export type Syscalls = { [K in SyscallName]: EitherWay<NativeAddon[K]> };

/** The table of syscalls in one mode. */
export function syscalls(sync: boolean): Syscalls {
  const table = {} as Record<string, unknown>;
  const addon = native as unknown as Record<string, unknown>;
  for (const name of SYSCALL_NAMES) table[name] = addon[sync ? `${name}Sync` : name];
  return table as Syscalls;
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
