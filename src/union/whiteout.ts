// Whiteouts and opaque directories for overlay mode: how a layer says "this
// name is deleted here" and "nothing below this directory shows".
//
// Transport-free: every function works on one layer through (dirFd, relPath)
// syscalls, so lookup, readdir, unlink and mkdir can share it and it can be
// tested on plain temp directories.
//
// Several on-disk forms exist because three producers write layers:
//   - the kernel: a char device 0/0, or since 6.7 a zero-size regular file
//     carrying an `overlay.whiteout` xattr (reference §5.2);
//   - fuse-overlayfs: char 0/0 when it may mknod, else `.wh.NAME` files, and
//     `overlay.opaque` xattrs in three spellings (§1.3);
//   - containers/storage, which untars image layers in the AUFS format with a
//     mount program: `.wh.NAME` and `.wh..wh..opq` files, no xattrs (§2.4).
// So every form is READ in every layer, while WRITES use the kernel forms when
// allowed and the AUFS forms as the rootless fallback.
import type { DirEntry, Stat } from '../sys/fs.js';
import * as sys from '../sys/fs.js';
import { Errno, knownErrno } from '../sys/errno.js';

export const WH_PREFIX = '.wh.';
export const OPAQUE_NAME = '.wh..wh..opq';

const WH_PREFIX_BUF = Buffer.from(WH_PREFIX);
const OPAQUE_NAME_BUF = Buffer.from(OPAQUE_NAME);
const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

/** readdir d_type values this module cares about (dirent.h). */
export const DT_UNKNOWN = 0;
export const DT_CHR = 2;
export const DT_REG = 8;

/** Opaque markers read on a directory, any of which set to "y" makes it opaque (§1.3). */
export const OPAQUE_XATTRS: readonly string[] = ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque'];
/** The kernel's xattr-whiteout marker on a file (§5.2; `user.` with -o userxattr). */
export const WHITEOUT_XATTRS: readonly string[] = ['trusted.overlay.whiteout', 'user.overlay.whiteout'];
/**
 * The kernel 6.7 marker for "this directory holds xattr whiteouts". Later
 * kernels mark the directory with `overlay.opaque=x` instead (§1.3, §5.2);
 * both are accepted, since layers built for either kernel exist.
 */
export const WHITEOUTS_DIR_XATTRS: readonly string[] = ['trusted.overlay.whiteouts', 'user.overlay.whiteouts'];
const KERNEL_OPAQUE_XATTRS: readonly string[] = ['trusted.overlay.opaque', 'user.overlay.opaque'];

const xattrName = new Map<string, Buffer>();
const xname = (n: string): Buffer => {
  let b = xattrName.get(n);
  if (b === undefined) xattrName.set(n, (b = Buffer.from(n)));
  return b;
};

const Y = 0x79; // 'y'
const X = 0x78; // 'x'

/** An empty relative path means the layer root; the *at() calls want "." for it (AT_EMPTY_PATH on an O_PATH fd cannot getxattr). */
const at = (rel: Buffer): Buffer => (rel.length === 0 ? DOT : rel);

/** A lossless string key for a name (latin1 maps every byte to one char), for Sets of names. */
export const nameKey = (name: Buffer): string => name.toString('latin1');

// --- names ----------------------------------------------------------------

/** The kernel whiteout: a character device with rdev 0:0 (§1.3 row 1, §5.2). */
export function isWhiteoutStat(st: Pick<Stat, 'mode' | 'rdev'>): boolean {
  return (st.mode & sys.S_IFMT) === sys.S_IFCHR && st.rdev === 0;
}

/** `.wh.NAME`: the AUFS/OCI whiteout that hides NAME (§1.3 row 2, §2.4). */
export function whiteoutNameFor(name: Buffer): Buffer {
  return Buffer.concat([WH_PREFIX_BUF, name]);
}

const hasPrefix = (name: Buffer): boolean => name.length >= WH_PREFIX_BUF.length && name.subarray(0, WH_PREFIX_BUF.length).equals(WH_PREFIX_BUF);

/** A `.wh.NAME` whiteout name. The opaque marker `.wh..wh..opq` is not one: it hides no name. */
export function isWhiteoutName(name: Buffer): boolean {
  return hasPrefix(name) && name.length > WH_PREFIX_BUF.length && !name.equals(OPAQUE_NAME_BUF);
}

/** The name a `.wh.NAME` entry hides, or undefined when `whName` is not a whiteout name. */
export function hiddenName(whName: Buffer): Buffer | undefined {
  return isWhiteoutName(whName) ? whName.subarray(WH_PREFIX_BUF.length) : undefined;
}

/**
 * Any `.wh.*` name. Every op that creates a name (create, mkdir, mknod,
 * symlink, link, rename target) must refuse it: fuse-overlayfs let mkdir and
 * symlink through, and after a remount those entries acted as whiteouts and
 * hid lower files (§1.3, "Names starting with .wh."). Lookup of such a name
 * answers ENOENT; open(O_CREAT) answers EINVAL there.
 */
export function isReservedName(name: Buffer): boolean {
  return hasPrefix(name);
}

// --- small syscall helpers -------------------------------------------------

/** lstat, or undefined when there is nothing there (ENAMETOOLONG too: a `.wh.` name 4 bytes over the limit cannot exist). */
async function lstatMaybe(fd: number, path: Buffer): Promise<Stat | undefined> {
  try {
    return await sys.lstat(fd, path);
  } catch (e) {
    const errno = knownErrno(e);
    if (errno === Errno.ENOENT || errno === Errno.ENOTDIR || errno === Errno.ENAMETOOLONG) return undefined;
    throw e;
  }
}

const isAbsentXattr = (errno: number | undefined): boolean => errno === Errno.ENODATA || errno === Errno.ENOTSUP || errno === Errno.EOPNOTSUPP;

/** An xattr's value, or undefined when absent or when the filesystem has no xattrs. */
async function getXattr(fd: number, path: Buffer, name: string): Promise<Buffer | undefined> {
  try {
    const v = await sys.lgetxattr(fd, path, xname(name), 64);
    return typeof v === 'number' ? Buffer.alloc(0) : v;
  } catch (e) {
    const errno = knownErrno(e);
    if (isAbsentXattr(errno)) return undefined;
    // Longer than any marker value: present, but neither "y" nor "x".
    if (errno === Errno.ERANGE) return Buffer.alloc(65);
    throw e;
  }
}

async function hasXattr(fd: number, path: Buffer, name: string): Promise<boolean> {
  try {
    await sys.lgetxattr(fd, path, xname(name), 0);
    return true;
  } catch (e) {
    if (isAbsentXattr(knownErrno(e))) return false;
    throw e;
  }
}

const isByte = (v: Buffer | undefined, c: number): boolean => v !== undefined && v.length === 1 && v[0] === c;

// --- opaque directories ----------------------------------------------------

/** True when one of the opaque xattrs on `path` is exactly "y" (§1.3 rows 4–6; "x" is not opaque, §5.2). */
async function hasOpaqueXattr(fd: number, path: Buffer): Promise<boolean> {
  for (const n of OPAQUE_XATTRS) if (isByte(await getXattr(fd, path, n), Y)) return true;
  return false;
}

/**
 * Whether lower layers are cut off below this directory: an opaque xattr set
 * to "y" in any of the three spellings, or else a `.wh..wh..opq` entry inside
 * (§1.3: the file is checked only when no opaque xattr says so, as
 * fuse-overlayfs does; it is what AUFS-format image layers carry, §2.4).
 */
export async function isOpaqueDir(fd: number, relPath: Buffer): Promise<boolean> {
  if (await hasOpaqueXattr(fd, at(relPath))) return true;
  return (await lstatMaybe(fd, sys.joinPath(relPath, OPAQUE_NAME_BUF))) !== undefined;
}

/**
 * Whether this directory may hold kernel xattr whiteouts: `overlay.opaque=x`
 * (current kernels) or the 6.7 `overlay.whiteouts` marker (§5.2). The kernel
 * looks for xattr whiteouts only in directories so marked, which keeps a
 * getxattr off every empty file; we follow it so that an ordinary empty file
 * that happens to carry a stray xattr is not hidden.
 */
export async function dirHasXattrWhiteouts(fd: number, relPath: Buffer): Promise<boolean> {
  const p = at(relPath);
  for (const n of KERNEL_OPAQUE_XATTRS) if (isByte(await getXattr(fd, p, n), X)) return true;
  for (const n of WHITEOUTS_DIR_XATTRS) if (await hasXattr(fd, p, n)) return true;
  return false;
}

/** A kernel xattr whiteout: a zero-size regular file with an `overlay.whiteout` xattr (§5.2). The parent's marking is the caller's check. */
async function isXattrWhiteoutFile(fd: number, path: Buffer, st: Stat): Promise<boolean> {
  if (!sys.isReg(st.mode) || st.size !== 0) return false;
  for (const n of WHITEOUT_XATTRS) if (await hasXattr(fd, path, n)) return true;
  return false;
}

// --- whiteouts -------------------------------------------------------------

/**
 * Whether this layer whites out `name` in `dirRel`, in any form: a char 0/0
 * named `name`, an entry `.wh.name` of any type, or a kernel xattr whiteout
 * in a directory marked for them (§1.3, §5.2).
 *
 * A layer may hold both a real `name` and `.wh.name` (an AUFS layer that
 * deleted a directory and made it again). Then this returns true although
 * the name exists: the caller takes `name` from this layer (the first layer
 * that has it wins) and stops the merge here (§1.3 row 3, §1.4).
 */
export async function isWhiteoutAt(fd: number, dirRel: Buffer, name: Buffer): Promise<boolean> {
  const path = sys.joinPath(dirRel, name);
  const st = await lstatMaybe(fd, path);
  if (st !== undefined) {
    if (isWhiteoutStat(st)) return true;
    if (sys.isReg(st.mode) && st.size === 0 && (await dirHasXattrWhiteouts(fd, dirRel)) && (await isXattrWhiteoutFile(fd, path, st))) return true;
  }
  return (await lstatMaybe(fd, sys.joinPath(dirRel, whiteoutNameFor(name)))) !== undefined;
}

/** Whether the entry `name` (lstat `st`) is itself a whiteout: char 0/0, or an xattr whiteout in a marked directory. */
export async function isWhiteoutEntry(fd: number, dirRel: Buffer, name: Buffer, st: Stat): Promise<boolean> {
  if (isWhiteoutStat(st)) return true;
  if (!sys.isReg(st.mode) || st.size !== 0) return false;
  return (await dirHasXattrWhiteouts(fd, dirRel)) && (await isXattrWhiteoutFile(fd, sys.joinPath(dirRel, name), st));
}

/** Whether a `.wh.name` entry (any type) sits next to `name` in this layer. */
export async function hasWhiteoutFile(fd: number, dirRel: Buffer, name: Buffer): Promise<boolean> {
  return (await lstatMaybe(fd, sys.joinPath(dirRel, whiteoutNameFor(name)))) !== undefined;
}

export type WhiteoutForm = 'chardev' | 'whfile';

const WHITEOUT_MODE = 0o700; // what fuse-overlayfs uses for both forms (§1.3 "What it writes")

/**
 * Writes a whiteout for `name` into this (upper) layer. A char 0/0 device
 * when mknod is allowed: it is the only form the kernel reads, so the upper
 * stays mountable by kernel overlayfs. Otherwise (rootless without a user
 * namespace, §1.3) an empty `.wh.name` file. When mknod is allowed but the
 * filesystem or namespace refuses it (EPERM, EOPNOTSUPP) we fall back too;
 * the returned form tells the caller, which should then stop trying mknod.
 *
 * `name` itself must not exist in this layer (the caller removes it first):
 * an existing whiteout of the same form is accepted, anything else is EEXIST.
 */
export async function writeWhiteout(fd: number, dirRel: Buffer, name: Buffer, opts: { mknodAllowed: boolean }): Promise<WhiteoutForm> {
  if (opts.mknodAllowed) {
    const path = sys.joinPath(dirRel, name);
    try {
      await sys.mknod(fd, path, sys.S_IFCHR | WHITEOUT_MODE, 0);
      return 'chardev';
    } catch (e) {
      const errno = knownErrno(e);
      if (errno === Errno.EEXIST) {
        const st = await lstatMaybe(fd, path);
        if (st !== undefined && isWhiteoutStat(st)) return 'chardev';
        throw e;
      }
      if (errno !== Errno.EPERM && errno !== Errno.EOPNOTSUPP && errno !== Errno.ENOTSUP) throw e;
    }
  }
  const wh = sys.joinPath(dirRel, whiteoutNameFor(name));
  try {
    const f = await sys.open(fd, wh, sys.O_CREAT | sys.O_EXCL | sys.O_WRONLY | sys.O_NOFOLLOW, WHITEOUT_MODE);
    sys.close(f);
  } catch (e) {
    // Any entry named `.wh.name` is a whiteout (§1.3 row 2): one already there does the job.
    if (knownErrno(e) !== Errno.EEXIST) throw e;
  }
  return 'whfile';
}

/**
 * Removes every whiteout for `name` in this layer, before a name is created
 * over it (§1.3: "Creating a name removes both whiteout forms for it").
 * Only whiteouts are removed: a real `name` is left alone. Returns how many
 * entries went.
 */
export async function removeWhiteout(fd: number, dirRel: Buffer, name: Buffer): Promise<number> {
  let n = 0;
  const path = sys.joinPath(dirRel, name);
  const st = await lstatMaybe(fd, path);
  if (st !== undefined && (isWhiteoutStat(st) || (await isXattrWhiteoutFile(fd, path, st)))) {
    await sys.unlink(fd, path);
    n++;
  }
  const wh = sys.joinPath(dirRel, whiteoutNameFor(name));
  const whSt = await lstatMaybe(fd, wh);
  if (whSt !== undefined) {
    // An AUFS whiteout of a directory can itself be a directory (any type counts, §1.3).
    await (sys.isDir(whSt.mode) ? sys.rmdir(fd, wh) : sys.unlink(fd, wh));
    n++;
  }
  return n;
}

export type OpaqueForm = 'trusted' | 'user' | 'file';

/**
 * Marks a directory of this (upper) layer opaque. As root the kernel's own
 * `trusted.overlay.opaque=y`; rootless `user.overlay.opaque=y` (what the
 * kernel reads with -o userxattr and the Rust fuse-overlayfs writes, §1.3,
 * §5.2). EPERM on trusted.* (root inside a user namespace) falls back to
 * user.*, as fuse-overlayfs does. Where the filesystem has no xattrs at all,
 * the AUFS `.wh..wh..opq` file (§2.4) is the only form left.
 *
 * fuse-overlayfs also writes `.wh..wh..opq` next to the xattr every time; we
 * do not, since every reader that knows the file checks the xattr first.
 */
export async function makeOpaque(fd: number, dirRel: Buffer, opts: { xattrNamespace: 'trusted' | 'user' }): Promise<OpaqueForm> {
  const p = at(dirRel);
  const y = Buffer.from('y');
  let ns = opts.xattrNamespace;
  for (;;) {
    try {
      await sys.lsetxattr(fd, p, xname(`${ns}.overlay.opaque`), y, 0);
      return ns;
    } catch (e) {
      const errno = knownErrno(e);
      if (errno === Errno.EPERM && ns === 'trusted') {
        ns = 'user';
        continue;
      }
      if (errno !== Errno.ENOTSUP && errno !== Errno.EOPNOTSUPP) throw e;
      break;
    }
  }
  const opq = sys.joinPath(dirRel, OPAQUE_NAME_BUF);
  try {
    sys.close(await sys.open(fd, opq, sys.O_CREAT | sys.O_EXCL | sys.O_WRONLY | sys.O_NOFOLLOW, WHITEOUT_MODE));
  } catch (e) {
    if (knownErrno(e) !== Errno.EEXIST) throw e;
  }
  return 'file';
}

// --- listings --------------------------------------------------------------

export interface LayerListing {
  /** Entries this layer shows (`.` and `..` included when readdir gave them); never a `.wh.*` name or a whiteout. */
  visible: DirEntry[];
  /** Names (see nameKey) this layer whites out: the merge drops them from every lower layer. */
  hidden: Set<string>;
  /** Lower layers contribute nothing to this directory: the merge stops at this layer. */
  opaque: boolean;
}

/**
 * Splits one layer's readdir of `dirRel` into what shows, what it hides
 * below, and whether it is opaque (§1.3, §1.4). A char device entry is
 * stat'ed, since d_type cannot tell a 0/0 whiteout from a real device; so
 * is an empty regular file in a directory marked for xattr whiteouts.
 *
 * The merge walks layers top-down: add `visible` names not yet seen and not
 * hidden by an upper layer, add `hidden` to the hidden set, stop after an
 * opaque layer. A name both visible and hidden here (real D plus `.wh.D`)
 * shows from this layer and hides the lower copies, as §1.3 row 3 says.
 */
export async function filterListing(entries: readonly DirEntry[], dir: { fd: number; dirRel: Buffer }): Promise<LayerListing> {
  const { fd, dirRel } = dir;
  const visible: DirEntry[] = [];
  const hidden = new Set<string>();
  let opaque = false;
  let xwhiteouts: boolean | undefined; // asked once, and only if an empty regular file shows up

  for (const e of entries) {
    const { name } = e;
    if (name.equals(DOT) || name.equals(DOTDOT)) {
      visible.push(e);
      continue;
    }
    if (hasPrefix(name)) {
      // `.wh.*` entries never show (§1.3); the opaque marker hides the whole lower directory.
      if (name.equals(OPAQUE_NAME_BUF)) opaque = true;
      else if (name.length > WH_PREFIX_BUF.length) hidden.add(nameKey(name.subarray(WH_PREFIX_BUF.length)));
      continue;
    }
    if (e.type === DT_CHR || e.type === DT_UNKNOWN || e.type === DT_REG) {
      const path = sys.joinPath(dirRel, name);
      if (e.type === DT_REG) {
        xwhiteouts ??= await dirHasXattrWhiteouts(fd, dirRel);
        if (!xwhiteouts) {
          visible.push(e);
          continue;
        }
      }
      const st = await lstatMaybe(fd, path);
      if (st === undefined) continue; // gone since readdir: show nothing rather than a dangling name
      if (isWhiteoutStat(st)) {
        hidden.add(nameKey(name));
        continue;
      }
      if (sys.isReg(st.mode) && st.size === 0) {
        xwhiteouts ??= await dirHasXattrWhiteouts(fd, dirRel);
        if (xwhiteouts && (await isXattrWhiteoutFile(fd, path, st))) {
          hidden.add(nameKey(name));
          continue;
        }
      }
    }
    visible.push(e);
  }
  if (!opaque) opaque = await hasOpaqueXattr(fd, at(dirRel));
  return { visible, hidden, opaque };
}

/** readdir of one layer's directory, filtered (see filterListing). */
export async function readLayerDir(fd: number, dirRel: Buffer): Promise<LayerListing> {
  return filterListing(await sys.readdir(fd, at(dirRel)), { fd, dirRel });
}
