// OpContext: everything an op handler may use, passed explicitly (no globals),
// plus the small helpers every op shares: finding a node on the branch its
// function's policy picks, stat → attr (with the pool's inode numbers),
// entries, and ownership of files created on a caller's behalf.
import { readFile } from 'node:fs/promises';
import type { Header } from '../fuse/protocol.js';
import type { EntryReply, FuseAttr } from '../fuse/replies.js';
import { Errno, FsError } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Stat } from '../sys/fs.js';
import type { Logger } from '../sys/log.js';
import type { HandleTable } from '../union/handles.js';
import type { ServedIo } from '../fuse/served-io.js';
import type { ServedNames } from '../fuse/served-lookups.js';
import type { PlusAdvisor } from './plus-advisor.js';
import { shownBlksize } from './blksize.js';
import type { InodeTable, Node } from '../union/inodes.js';
import type { LockTable } from '../union/locks.js';
import type { PassthroughTable } from '../union/passthrough.js';
import type { Branch } from '../union/branches.js';
import type { ControlStore } from './control.js';
import type { CopyUp } from '../union/copyup.js';
import type { Layers } from '../union/layers.js';
import type { CacheFiles, PageCachePolicy } from '../union/pagecache.js';
import type { OverrideStat } from '../union/override-stat.js';
import { atPath, type ActionFunc, type Pool, type SearchFunc } from '../union/pool.js';
import { applyToBranches, preferSearch } from '../union/fold.js';
import { then, type MaybePromise } from '../../policies/maybe.js';

/** How xattr requests are answered (mergerfs's xattr= and security_capability=); replaced on change. */
export interface XattrSettings {
  /** passthrough: ask the branches; noattr: every call answers ENODATA; nosys: ENOSYS, and the kernel stops asking. */
  mode: 'passthrough' | 'noattr' | 'nosys';
  /** false: getxattr of security.capability answers ENODATA without asking a branch (the kernel asks before every write and chown). */
  securityCapability: boolean;
}

export interface CacheSettings {
  files: CacheFiles;
  processNames: readonly string[];
  readdir: boolean;
  writeback: boolean;
}

export interface Timeouts {
  /** Seconds the kernel may cache a name → node. */
  entry: number;
  /** Seconds the kernel may cache attributes. */
  attr: number;
  /** Seconds the kernel may cache "no such name" (0: not at all). */
  negative: number;
}

export interface OpContext {
  /**
   * The branches and the policy of each function. A single directory is a
   * pool of one. Replaced whole when options change at run time; a request
   * reads it once and keeps what it read.
   */
  pool: Pool;
  /** The options as the runtime control file (/.braidfs) reads and writes them. */
  readonly control: ControlStore;
  readonly inodes: InodeTable;
  readonly handles: HandleTable;
  readonly locks: LockTable;
  readonly passthrough: PassthroughTable;
  /** Which opens use passthrough (mergerfs's passthrough.io). */
  readonly passthroughIo: 'off' | 'ro' | 'wo' | 'rw';
  /** Replaced whole when cache.* options change at run time. */
  timeouts: Timeouts;
  /** Page cache use (cache.files, cache.readdir) and whether the writeback cache was negotiated; replaced on change. */
  cache: CacheSettings;
  xattrs: XattrSettings;
  readonly pageCache: PageCachePolicy;
  readonly log: Logger;
  /** The daemon's own gid: what a file created by the daemon gets without setgid inheritance. */
  readonly daemonGid: number;
  /** Overlay mode or a copy-on-write pool: layer semantics and copy-up (see union/layers.ts). */
  readonly layered?: Layered;
  /** Tells the kernel what it caches has changed; set once the FUSE session exists. */
  kernel: KernelNotices;
  /** The transport's own READ/WRITE path for open files without passthrough (fuse/served-io.ts). */
  readonly servedIo: ServedIo;
  /** The transport's own LOOKUP path for names handed out before (fuse/served-lookups.ts). */
  readonly servedNames: ServedNames;
  /** Whether a listing's first READDIRPLUS batch carries attributes (readdirplus=auto). */
  readonly plusAdvisor: PlusAdvisor;
}

/**
 * What an op tells the kernel beyond its reply. Fire and forget: a notice
 * the kernel has nothing cached for is not an error.
 */
export interface KernelNotices {
  /** The node's cached attributes are stale (e.g. its nlink changed under a reply about another node). */
  attrsChanged(nodeid: bigint): void;
}

/** Before the session exists there is nothing to tell. */
export const NO_NOTICES: KernelNotices = { attrsChanged: () => undefined };

/** What overlay mode and cow pools add to a pool. */
export interface Layered {
  readonly layers: Layers;
  readonly copyUp: CopyUp;
  /** fuse-overlayfs's command line was used (upper first, then lowers), rather than `-o cow` on a pool. */
  readonly overlay: boolean;
  /** fsync=0 / volatile: fsync is a no-op. */
  readonly fsync: boolean;
  /** static_nlink: directories report st_nlink 1. */
  readonly staticNlink: boolean;
  /** How owners are shown and stored (uidmapping/gidmapping/squash_*). */
  readonly ids: IdMap;
  /** xattr_permissions=1|2: owner and mode live in an xattr. */
  readonly override: OverrideStat | undefined;
  /** noxattrs=1: xattr operations answer ENOSYS. */
  readonly noxattrs: boolean;
}

/** Owner translation between the layers (inside) and the mount (outside), as fuse-overlayfs does. */
export interface IdMap {
  /** On-disk ids → shown ids. */
  show(uid: number, gid: number): { uid: number; gid: number };
  /** Requested ids (chown, the caller of a create) → stored ids; undefined: store nothing (squash_to_root chown). */
  store(uid: number, gid: number): { uid: number; gid: number } | undefined;
  readonly identity: boolean;
}

/**
 * A node's identity: the file on the branch where it was found. Hard links
 * on one branch share it (and so share a nodeid, as they share an inode).
 * In layered mode `st` carries a copy-up's origin dev/ino, yet the branch
 * still differs: a copied-up file is a new kernel inode (same st_ino), so
 * fds open on the lower file keep their own inode and passthrough backing.
 */
export const identity = (b: Branch, st: Pick<Stat, 'dev' | 'ino'>): string => `${b.index}:${st.dev}:${st.ino}`;
export const fileType = (mode: number): number => mode & sys.S_IFMT;

/**
 * In layered mode each name of a hard-linked file on a read-only layer is
 * its own node (same st_ino): a change through one name copies up that name
 * only, and the kernel must tell us which name it meant. Upper-layer links
 * are real links and share a node.
 */
function layeredIdentity(ctx: OpContext, b: Branch, rel: Buffer, st: Stat): string {
  const id = identity(b, st);
  if (!ctx.layered || ctx.layered.layers.writable(b) || st.nlink < 2 || sys.isDir(st.mode)) return id;
  return `${id}:${rel.toString('latin1')}`;
}

/** Where a file is on disk: a directory fd and a path relative to it (empty: the fd itself). */
export interface Loc {
  readonly dir: number;
  readonly path: Buffer;
}

/** A file found on a branch. */
export interface Found {
  readonly branch: Branch;
  readonly loc: Loc;
  /** The path relative to the branch root ('' for the root). */
  readonly rel: Buffer;
}

export const branchLoc = (b: Branch, rel: Buffer): Loc => ({ dir: b.rootFd, path: atPath(rel) });

/** The relative path of a node, or undefined when it has no name left (unlinked but open). */
export function relOf(ctx: OpContext, node: Node): Buffer | undefined {
  if (node === ctx.inodes.root) return Buffer.alloc(0);
  return node.names.length === 0 ? undefined : ctx.inodes.path(node);
}

/** A file with no name left is reached through one of its open fds. */
function throughOpenFd(ctx: OpContext, node: Node): Found {
  const open = ctx.handles.anyOpen(node);
  if (!open) throw new FsError(Errno.ENOENT, 'locate');
  return { branch: open.branch, loc: { dir: open.fd, path: sys.SELF }, rel: sys.SELF };
}

/**
 * Finds a node for a search function (getattr, open, readlink, getxattr…):
 * through handle `fh` when given, else on the branch the function's policy
 * picks, else through an open fd when it has no name left.
 */
export function search(ctx: OpContext, func: SearchFunc, node: Node, fh?: bigint): MaybePromise<Found & { st: () => MaybePromise<Stat> }> {
  if (fh !== undefined) {
    const h = ctx.handles.file(fh);
    return { branch: h.branch, loc: { dir: h.fd, path: sys.SELF }, rel: sys.SELF, st: () => sys.lstatNow(h.fd, sys.SELF) };
  }
  const rel = relOf(ctx, node);
  if (rel === undefined) {
    const f = throughOpenFd(ctx, node);
    return { ...f, st: () => sys.lstatNow(f.loc.dir, f.loc.path) };
  }
  if (ctx.layered) {
    // Layers are searched top-down whatever the search policy: the first layer showing the name wins (overlay §1.4).
    return ctx.layered.layers.resolve(rel).then(([top]) => {
      if (!top) throw new FsError(Errno.ENOENT, func, rel);
      const loc = branchLoc(top.branch, top.rel);
      return { branch: top.branch, loc, rel: top.rel, st: () => sys.lstatNow(loc.dir, loc.path) };
    });
  }
  return then(ctx.pool.select(func, rel), (sel) => {
    const b = sel.first;
    return { branch: b, loc: branchLoc(b, rel), rel, st: () => sel.stat(b) };
  });
}

/** Every branch an action function (chmod, unlink, setxattr…) acts on for a node, in list order. */
export async function act(ctx: OpContext, func: ActionFunc, node: Node, fh?: bigint): Promise<Found[]> {
  // A change to a file shown from a read-only layer goes to a copy of it:
  // copy-up first, then act where the copy is (never on the lower file,
  // not even through a handle opened on it for reading).
  if (ctx.layered && fh !== undefined && !ctx.layered.layers.writable(ctx.handles.file(fh).branch)) fh = undefined;
  if (ctx.layered && fh === undefined) {
    const rel = relOf(ctx, node);
    if (rel !== undefined) {
      const up = await ctx.layered.copyUp.ensure(rel);
      if (ctx.layered.overlay) return [{ branch: up.branch, loc: branchLoc(up.branch, up.rel), rel: up.rel }];
    }
  }
  if (fh !== undefined) {
    const h = ctx.handles.file(fh);
    return [{ branch: h.branch, loc: { dir: h.fd, path: sys.SELF }, rel: sys.SELF }];
  }
  const rel = relOf(ctx, node);
  if (rel === undefined) return [throughOpenFd(ctx, node)];
  const sel = await ctx.pool.select(func, rel);
  return sel.branches.map((b) => ({ branch: b, loc: branchLoc(b, rel), rel }));
}

/**
 * Runs one change (chmod, setxattr…) on every branch the action policy picks,
 * folding mixed results the mergerfs way: by the branch the getattr policy
 * would report (preferSearch), asked only when results are mixed.
 */
export async function actOnBranches(ctx: OpContext, func: ActionFunc, node: Node, fh: bigint | undefined, fn: (at: Loc) => Promise<void>): Promise<void> {
  const targets = await act(ctx, func, node, fh);
  await applyToBranches(
    targets.map((t) => ({ index: t.branch.index, loc: t.loc })),
    (t) => fn(t.loc),
    preferSearch<void>(async () => (await search(ctx, 'getattr', node, fh)).branch.index),
    func,
  );
}

/**
 * A branch file's stat as the mount shows it. In layered mode a copied-up
 * file keeps its origin's dev/ino, owners go through the id map, and with
 * static_nlink directories count 1 link.
 */
export function shownStat(ctx: OpContext, b: Branch, loc: Loc, st: Stat): MaybePromise<Stat> {
  const l = ctx.layered;
  if (!l) return st;
  return shownLayeredStat(l, b, loc, st);
}

async function shownLayeredStat(l: Layered, b: Branch, loc: Loc, st: Stat): Promise<Stat> {
  let out = await l.layers.shownStat(b, loc, st);
  const o = l.override && (await l.override.read(loc.dir, loc.path));
  if (o) out = l.override.apply(out, o);
  if (!l.ids.identity) out = { ...out, ...l.ids.show(out.uid, out.gid) };
  if (l.staticNlink && sys.isDir(out.mode)) out = { ...out, nlink: 1 };
  return out;
}

/** The attributes the kernel sees: the branch file's stat with the pool's inode number. */
export function toAttr(ctx: OpContext, b: Branch, rel: Buffer, st: Stat): FuseAttr {
  return { ...st, ino: ctx.pool.inode(b, rel, st), blksize: shownBlksize(st.mode, st.size, st.blksize) };
}

export function entryFor(ctx: OpContext, node: Node, attr: FuseAttr): EntryReply {
  return { nodeid: node.id, generation: 0n, attr, entryValid: ctx.timeouts.entry, attrValid: ctx.timeouts.attr };
}

/** Counts a kernel reference to parent/name, found on branch `b` with stat `st`, and builds its entry. */
export function remember(ctx: OpContext, parent: Node, name: Buffer, b: Branch, rel: Buffer, st: Stat): EntryReply {
  const node = ctx.inodes.remember(parent, name, layeredIdentity(ctx, b, rel, st), fileType(st.mode));
  const attr = toAttr(ctx, b, rel, st);
  ctx.servedNames.add(parent, name, node, b, rel, st, attr.ino);
  return entryFor(ctx, node, attr);
}

/**
 * The stat of a node for getattr: through `fh`, the getattr policy's branch,
 * or an open fd; at once on the pool's fast path (see policies/maybe.ts).
 */
export function statNode(ctx: OpContext, node: Node, fh?: bigint): MaybePromise<FuseAttr> {
  return then(search(ctx, 'getattr', node, fh), (f) =>
    then(f.st(), (raw) => then(shownStat(ctx, f.branch, f.loc, raw), (st) => toAttr(ctx, f.branch, relOf(ctx, node) ?? sys.SELF, st))),
  );
}

/** Is `gid` among the caller's groups? Read from /proc, only when it matters. */
export async function callerInGroup(h: Header, gid: number): Promise<boolean> {
  if (h.gid === gid) return true;
  try {
    const status = await readFile(`/proc/${h.pid}/status`, 'latin1');
    const line = /^Groups:\s*(.*)$/m.exec(status)?.[1] ?? '';
    return line.split(/\s+/).filter(Boolean).map(Number).includes(gid);
  } catch {
    return false;
  }
}

/**
 * Gives a file the daemon (root) just created to the caller, as a plain
 * filesystem would have: owner = caller, group = caller's, or the parent's
 * when the parent is setgid. chown clears suid/sgid on regular files, so
 * those bits are put back, except sgid for a group the caller isn't in.
 */
export async function giveToCaller(ctx: OpContext, h: Header, at: Loc, parent: Loc, mode: number, st: Stat): Promise<Stat> {
  const ids = ctx.layered?.ids;
  const override = ctx.layered?.override;
  if (override) {
    // xattr_permissions: the caller's owner and the requested mode go in the
    // xattr; the file on disk stays the daemon's, readable by it (fuse-overlayfs: |0755).
    const stored = ids && !ids.identity ? (ids.store(h.uid, h.gid) ?? { uid: 0, gid: 0 }) : { uid: h.uid, gid: h.gid };
    await override.write(at.dir, at.path, { ...stored, perm: mode & 0o7777 });
    if (!sys.isLnk(st.mode)) await sys.lchmod(at.dir, at.path, (st.mode & 0o7777) | 0o755);
    return sys.lstat(at.dir, at.path);
  }
  if (ids && !ids.identity) {
    // Overlay id mapping: the caller's ids as the layers store them (squash: the daemon keeps it).
    const stored = ids.store(h.uid, h.gid);
    if (stored && (stored.uid !== st.uid || stored.gid !== st.gid)) await sys.lchown(at.dir, at.path, stored.uid, stored.gid);
    return sys.lstat(at.dir, at.path);
  }
  let gid = h.gid;
  if (st.gid !== ctx.daemonGid) gid = st.gid; // setgid inheritance already happened
  else if (h.gid !== ctx.daemonGid) {
    const p = await sys.lstat(parent.dir, parent.path);
    if (p.mode & 0o2000) gid = p.gid;
  }
  if (st.uid === h.uid && st.gid === gid) return st;
  await sys.lchown(at.dir, at.path, h.uid, gid);
  const special = mode & 0o6000;
  if (special && sys.isReg(st.mode)) {
    let keep = special;
    if (keep & 0o2000 && h.uid !== 0 && !(await callerInGroup(h, gid))) keep &= ~0o2000;
    await sys.lchmod(at.dir, at.path, (mode & 0o777) | keep | (st.mode & 0o1000));
  }
  return sys.lstat(at.dir, at.path);
}

export function parentOf(ctx: OpContext, id: bigint): Node {
  const n = ctx.inodes.get(id);
  if (fileType(n.type) !== sys.S_IFDIR) throw new FsError(Errno.ENOTDIR, 'parent');
  return n;
}
