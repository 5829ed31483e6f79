// Layered view of the branches, for overlay mode and copy-on-write pools:
// which branches contribute to a path, top first, after whiteouts, opaque
// directories and directory redirects (reference overlay.md §1.4, §5.1–5.5).
//
// The branch list is the layer order: upper (RW) first, then the lowers.
// For a path, the first layer that has the name wins; lower layers are
// consulted only while every copy found so far is a directory; a whiteout
// (any form, see whiteout.ts) or an opaque directory stops the walk.
//
// Renamed lower directories (issue 4 item 5). We use the kernel's own
// design: the directory moves in the upper layer and carries an
// `overlay.redirect` xattr naming where its lower copies are, as an
// absolute path from the layer root ("/a/b"); the old name gets a whiteout.
// A rename then costs one mkdir, one setxattr and one rename, whatever the
// size of the tree, and the kernel's overlayfs with redirect_dir=on reads the
// same upper layer back identically. (fuse-overlayfs does not read redirects;
// it would show the moved directory with its upper content only.)
//
// Per-layer paths therefore differ below a redirect, so every hit carries
// its own branch-relative path.
//
// Only directories are cached (by merged path); any change that can alter
// a directory's layers (copy-up of a directory, rmdir, rename, whiteouts,
// opaque mkdir) clears the cache. Files are resolved afresh every time.
// Changing the layers behind the mount's back is undefined, as for the
// kernel's overlayfs (§5.6); SIGUSR1 clears the cache too.
import { Errno, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import { statBeneath, type Branch, type BranchSet } from './branches.js';
import { atPath } from './pool.js';

const EMPTY = Buffer.alloc(0);
import { hasWhiteoutFile, isOpaqueDir, isWhiteoutEntry } from './whiteout.js';

export interface LayerHit {
  readonly branch: Branch;
  /** The path on this branch ('' is the root); differs from the merged path below a redirect. */
  readonly rel: Buffer;
  readonly isDir: boolean;
}

/** Where braidfs keeps what a copy-up learned about the original (see Origin). */
export const ORIGIN_XATTR = { trusted: 'trusted.braidfs.origin', user: 'user.braidfs.origin' } as const;
const REDIRECT_XATTRS: readonly string[] = ['trusted.overlay.redirect', 'user.overlay.redirect'];

/**
 * xattr namespaces that belong to the layer format, never to the user: the
 * kernel's and fuse-overlayfs's markers, containers/storage's override, and
 * ours. They are hidden from listxattr, read as absent, and cannot be set
 * or removed through the mount (§1.3 "Internal xattrs"; 1.10 let
 * user.overlay.* be set, a hole we close).
 */
const PRIVATE_XATTR_PREFIXES: readonly Buffer[] = ['trusted.overlay.', 'user.overlay.', 'user.fuseoverlayfs.', 'security.fuseoverlayfs.', 'user.containers.', 'trusted.braidfs.', 'user.braidfs.'].map((p) =>
  Buffer.from(p),
);
export function isPrivateXattr(name: Buffer): boolean {
  return PRIVATE_XATTR_PREFIXES.some((p) => name.length >= p.length && name.subarray(0, p.length).equals(p));
}

/** The original file a copy-up came from: its st_dev and st_ino, which the copy keeps showing. */
export interface Origin {
  dev: bigint;
  ino: bigint;
}

export function encodeOrigin(o: Origin): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt.asUintN(64, o.dev), 0);
  b.writeBigUInt64LE(o.ino, 8);
  return b;
}

function decodeOrigin(b: Buffer): Origin | undefined {
  if (b.length !== 16) return undefined;
  return { dev: b.readBigUInt64LE(0), ino: b.readBigUInt64LE(8) };
}

export interface LayerOptions {
  /** Write char 0/0 whiteouts (root, unless FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT); else `.wh.NAME` files. */
  mknodWhiteouts: boolean;
  /** trusted.* as root, user.* rootless: for opaque, redirect and origin xattrs we write. */
  xattrNamespace: 'trusted' | 'user';
}

const SLASH = 0x2f;
const CACHE_LIMIT = 200_000;

async function xattrMaybe(b: Branch, rel: Buffer, name: string, size: number): Promise<Buffer | undefined> {
  try {
    const v = await sys.lgetxattr(b.rootFd, atPath(rel), Buffer.from(name), size);
    return typeof v === 'number' ? undefined : v;
  } catch (e) {
    const errno = knownErrno(e);
    if (errno === Errno.ENODATA || errno === Errno.ENOTSUP || errno === Errno.EOPNOTSUPP || errno === Errno.ERANGE) return undefined;
    throw e;
  }
}

export class Layers {
  private readonly dirs = new Map<string, LayerHit[]>();

  constructor(
    /** The current branch set (it may be replaced at run time in a cow pool). */
    private readonly set: () => BranchSet,
    readonly options: LayerOptions,
  ) {}

  /** Branches that take changes: copy-ups, whiteouts and new names land only there. */
  writable(b: Branch): boolean {
    return b.mode !== 'RO';
  }

  private readonly devs = new Map<number, bigint>();

  /** st_dev of a branch root: what readdir entries carry, since d_ino comes without a device. */
  async devOf(b: Branch): Promise<bigint> {
    let d = this.devs.get(b.index);
    if (d === undefined) this.devs.set(b.index, (d = (await sys.lstat(b.rootFd, atPath(EMPTY))).dev));
    return d;
  }

  /** Forget every cached directory resolution (after a change that can alter one). */
  invalidate(): void {
    this.dirs.clear();
  }

  /** The layers that show `rel` (merged path), top first; [] when it does not exist in the merged view. */
  async resolve(rel: Buffer): Promise<LayerHit[]> {
    if (rel.length === 0) return this.root();
    const key = rel.toString('latin1');
    const cached = this.dirs.get(key);
    if (cached) return cached;
    const cut = rel.lastIndexOf(SLASH);
    const parentRel = cut < 0 ? Buffer.alloc(0) : rel.subarray(0, cut);
    const parent = await this.resolve(parentRel);
    if (parent.length === 0 || !parent[0]!.isDir) return [];
    const hits = await this.child(parent, rel.subarray(cut + 1));
    if (hits.length > 0 && hits[0]!.isDir) {
      if (this.dirs.size >= CACHE_LIMIT) this.dirs.clear();
      this.dirs.set(key, hits);
    }
    return hits;
  }

  /** The root merges every layer down to the first opaque one. */
  private async root(): Promise<LayerHit[]> {
    const cached = this.dirs.get('');
    if (cached) return cached;
    const hits: LayerHit[] = [];
    for (const b of this.set().branches) {
      hits.push({ branch: b, rel: Buffer.alloc(0), isDir: true });
      if (await isOpaqueDir(b.rootFd, Buffer.alloc(0))) break;
    }
    this.dirs.set('', hits);
    return hits;
  }

  /**
   * One step of the walk: `name` inside a directory whose layers are
   * `parent`. Each layer is looked at under its own path for the parent,
   * except after an absolute redirect, where every layer below is looked at
   * under the redirect path (as the kernel switches to the root's stack).
   */
  private async child(parent: readonly LayerHit[], name: Buffer): Promise<LayerHit[]> {
    const out: LayerHit[] = [];
    let queue: Array<{ branch: Branch; rel: Buffer }> = parent.map((p) => ({ branch: p.branch, rel: sys.joinPath(p.rel, name) }));
    for (let k = 0; k < queue.length; k++) {
      const { branch, rel } = queue[k]!;
      const dirRel = sys.dirPart(rel);
      const base = sys.basePart(rel);
      const st = await statBeneath(branch, rel);
      const real = st !== undefined && !(await isWhiteoutEntry(branch.rootFd, dirRel, base, st));
      const whFile = await hasWhiteoutFile(branch.rootFd, dirRel, base);
      if (!real) {
        if (st !== undefined || whFile) break; // whited out at this layer
        continue;
      }
      const isDir = sys.isDir(st.mode);
      // A non-directory below a directory is hidden, and nothing shows below a non-directory.
      if (out.length > 0 && !isDir) break;
      out.push({ branch, rel, isDir });
      if (!isDir || whFile) break; // AUFS: D and .wh.D in one layer → D from this layer only
      if (await isOpaqueDir(branch.rootFd, rel)) break;
      const redirect = await this.redirectOf(branch, rel);
      if (redirect !== undefined) {
        const target = redirect[0] === SLASH ? redirect.subarray(1) : sys.joinPath(dirRel, redirect);
        const below = redirect[0] === SLASH ? this.set().branches.filter((b) => b.index > branch.index).map((b) => ({ branch: b, rel: target })) : queue.slice(k + 1).map((q) => ({ branch: q.branch, rel: sys.joinPath(sys.dirPart(q.rel), redirect) }));
        queue = [...queue.slice(0, k + 1), ...below];
      }
    }
    return out;
  }

  /** The redirect a directory carries (kernel format: "/abs/path" or a sibling name), if any. */
  async redirectOf(b: Branch, rel: Buffer): Promise<Buffer | undefined> {
    for (const n of REDIRECT_XATTRS) {
      const v = await xattrMaybe(b, rel, n, 4096);
      if (v !== undefined && v.length > 0) return v;
    }
    return undefined;
  }

  /** Marks an upper directory as the moved copy of the lower directory at `lowerRel`. */
  async setRedirect(b: Branch, rel: Buffer, lowerRel: Buffer): Promise<void> {
    const value = Buffer.concat([Buffer.from('/'), lowerRel]);
    try {
      await sys.lsetxattr(b.rootFd, rel, Buffer.from(`${this.options.xattrNamespace}.overlay.redirect`), value, 0);
    } catch (e) {
      // root in a user namespace may not write trusted.*: the user.* spelling is read too
      if (knownErrno(e) !== Errno.EPERM || this.options.xattrNamespace === 'user') throw e;
      await sys.lsetxattr(b.rootFd, rel, Buffer.from('user.overlay.redirect'), value, 0);
    }
  }

  /** The origin recorded on a copied-up file, if any (only copies on writable branches carry one). */
  async originOf(b: Branch, loc: { dir: number; path: Buffer }): Promise<Origin | undefined> {
    if (!this.writable(b)) return undefined;
    for (const n of [ORIGIN_XATTR.trusted, ORIGIN_XATTR.user]) {
      try {
        // An empty path is the fd itself (a handle), never a branch root: callers pass "." for that.
        const v = await sys.lgetxattr(loc.dir, loc.path, Buffer.from(n), 16);
        if (typeof v !== 'number') return decodeOrigin(v);
      } catch {
        // absent, or no xattrs here
      }
    }
    return undefined;
  }

  /** `st` as the mount shows it: a copied-up file keeps the original's dev and ino. */
  async shownStat(b: Branch, loc: { dir: number; path: Buffer }, st: sys.Stat): Promise<sys.Stat> {
    const o = await this.originOf(b, loc);
    return o === undefined ? st : { ...st, dev: o.dev, ino: o.ino };
  }
}
