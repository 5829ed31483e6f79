// The namespace ops of overlay mode and copy-on-write pools: what changes
// when the branches are layers (reference overlay.md §1.3–1.6, §5).
//
//  - New names: `.wh.*` is refused everywhere (EINVAL), the parent chain is
//    copied up, and a whiteout of the name is removed first. A directory
//    made over a whiteout is opaque, so what the whiteout hid stays hidden
//    (the kernel's rule; fuse-overlayfs made every new directory opaque).
//  - Removal deletes the writable copy, then writes a whiteout only if
//    something still shows from below. A lower file is never copied first
//    (fuse-overlayfs copies the whole file up before deleting it).
//  - Rename moves the writable copy. A directory with lower content gets a
//    redirect to it (see union/layers.ts), so a rename never copies a tree.
//  - Listings merge the layers top-down: whiteouts drop names below them,
//    and an opaque directory ends the merge.
import { RENAME_EXCHANGE, RENAME_NOREPLACE } from '../fuse/abi.js';
import type { EntryReply } from '../fuse/replies.js';
import { Errno, FsError, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Branch } from '../union/branches.js';
import type { MergedEntry } from '../union/handles.js';
import type { Node } from '../union/inodes.js';
import type { LayerHit } from '../union/layers.js';
import { atPath } from '../union/pool.js';
import { SCRATCH_NAME } from '../union/scratch.js';
import { isReservedName, makeOpaque, readLayerDir, removeWhiteout, writeWhiteout, nameKey } from '../union/whiteout.js';
import { branchLoc, relOf, remember, shownStat, type Layered, type OpContext } from './context.js';

const DOT = Buffer.from('.');

function layeredOf(ctx: OpContext): Layered {
  if (!ctx.layered) throw new FsError(Errno.EIO, 'layered op without layers');
  return ctx.layered;
}

/** Every op that makes a name refuses `.wh.*`: such a name would act as a whiteout after a remount (§1.3). */
export function refuseReservedName(ctx: OpContext, name: Buffer, op: string): void {
  if (!ctx.layered) return;
  if (isReservedName(name)) throw new FsError(Errno.EINVAL, op, name);
  // statfs says NAME_MAX - 4: a longer name would leave no room for its `.wh.` whiteout.
  if (name.length > MAX_NAME) throw new FsError(Errno.ENAMETOOLONG, op, name);
}

const MAX_NAME = 255 - 4;

/**
 * The writable branch new names and copy-ups under `parentRel` go to: the
 * create policy's pick (overlay: the upper layer). A path-preserving policy
 * finds nothing when the parent exists only on read-only branches; then
 * the first writable branch with room takes it, since copy-up exists to
 * make exactly that possible.
 */
export async function writableTarget(ctx: OpContext, parentRel: Buffer): Promise<Branch> {
  try {
    return (await ctx.pool.select('create', parentRel)).first;
  } catch (e) {
    const errno = knownErrno(e);
    if (errno === Errno.EROFS) throw e;
    const candidates = await ctx.pool.branches.candidates(ctx.pool.options.statfsTtlMs);
    const ok = candidates.find((c) => c.mode === 'RW' && !c.readOnlyFs && c.spaceAvail >= c.minFreeSpace);
    if (!ok) throw e;
    return ctx.pool.branches.branch(ok.index);
  }
}

/**
 * Gets a new name ready: it must not show already (EEXIST), the parent chain
 * is copied up to the target, and any whiteout of the name on a writable
 * branch goes. Returns the target and whether a whiteout was replaced.
 */
export async function prepareNewName(ctx: OpContext, parentRel: Buffer, name: Buffer): Promise<{ target: Branch; replacedWhiteout: boolean }> {
  const l = layeredOf(ctx);
  const rel = sys.joinPath(parentRel, name);
  if ((await l.layers.resolve(rel)).length > 0) throw new FsError(Errno.EEXIST, 'create', rel);
  const target = await writableTarget(ctx, parentRel);
  await l.copyUp.ensureDirChain(target, parentRel);
  let removed = 0;
  for (const b of ctx.pool.branches.branches) {
    if (!l.layers.writable(b)) continue;
    try {
      removed += await removeWhiteout(b.rootFd, parentRel, name);
    } catch (e) {
      const errno = knownErrno(e);
      if (errno !== Errno.ENOENT && errno !== Errno.ENOTDIR) throw e;
    }
  }
  if (removed > 0) l.layers.invalidate();
  return { target, replacedWhiteout: removed > 0 };
}

/** After a directory was made where a whiteout was: mark it opaque so nothing from below merges in. */
export async function opaqueIfReplaced(ctx: OpContext, target: Branch, rel: Buffer, replacedWhiteout: boolean): Promise<void> {
  if (!replacedWhiteout) return;
  const l = layeredOf(ctx);
  await makeOpaque(target.rootFd, rel, { xattrNamespace: l.layers.options.xattrNamespace });
  l.layers.invalidate();
}

/** Writes a whiteout for `rel` on `target`, cloning the parent chain there first. */
async function whiteOut(ctx: OpContext, target: Branch, rel: Buffer): Promise<void> {
  const l = layeredOf(ctx);
  const dirRel = sys.dirPart(rel);
  await l.copyUp.ensureDirChain(target, dirRel);
  await writeWhiteout(target.rootFd, dirRel, sys.basePart(rel), { mknodAllowed: l.layers.options.mknodWhiteouts });
  l.layers.invalidate();
}

/** Removes every entry of a writable directory whose merged view is empty: they can only be whiteouts. */
async function clearWhiteoutsIn(b: Branch, rel: Buffer): Promise<void> {
  for (const e of await sys.readdir(b.rootFd, atPath(rel))) {
    if (e.name.equals(DOT) || e.name.equals(Buffer.from('..'))) continue;
    const p = sys.joinPath(rel, e.name);
    try {
      await sys.unlink(b.rootFd, p);
    } catch (err) {
      if (knownErrno(err) !== Errno.EISDIR) throw err;
      await sys.rmdir(b.rootFd, p); // an AUFS `.wh.D` may itself be an (empty) directory
    }
  }
}

/** The merged listing of a directory whose layers are `hits` (first layer wins a name). */
export async function layeredListing(ctx: OpContext, rel: Buffer, hits: readonly LayerHit[], hiddenAtRoot: ReadonlySet<string>): Promise<MergedEntry[]> {
  const l = layeredOf(ctx);
  const out: MergedEntry[] = [];
  const seen = new Set<string>();
  const hidden = new Set<string>();
  for (const h of hits) {
    const listing = await readLayerDir(h.branch.rootFd, h.rel);
    const dev = await l.layers.devOf(h.branch);
    for (const e of listing.visible) {
      const key = nameKey(e.name);
      if (seen.has(key) || hidden.has(key) || (rel.length === 0 && hiddenAtRoot.has(key))) continue;
      seen.add(key);
      const isDot = key === '.' || key === '..';
      const mergedPath = key === '.' ? rel : key === '..' ? sys.dirPart(rel) : sys.joinPath(rel, e.name);
      let ino = e.ino;
      let d = dev;
      if (!isDot) {
        const o = await l.layers.originOf(h.branch, { dir: h.branch.rootFd, path: sys.joinPath(h.rel, e.name) });
        if (o) ({ dev: d, ino } = o);
      }
      out.push({ ...e, ino: ctx.pool.inode(h.branch, mergedPath, { ino, dev: d, mode: e.type === 4 ? sys.S_IFDIR : 0 }), branch: h.branch, dirRel: h.rel });
    }
    for (const k of listing.hidden) hidden.add(k);
    if (listing.opaque) break;
  }
  return out;
}

async function isEmptyMerged(ctx: OpContext, rel: Buffer, hits: readonly LayerHit[]): Promise<boolean> {
  const entries = await layeredListing(ctx, rel, hits, new Set());
  return entries.every((e) => e.name.equals(DOT) || e.name.equals(Buffer.from('..')));
}

/** UNLINK and RMDIR in layered mode. */
export async function removeLayered(ctx: OpContext, parent: Node, name: Buffer, kind: 'unlink' | 'rmdir'): Promise<void> {
  const l = layeredOf(ctx);
  const rel = ctx.inodes.childPath(parent, name);
  if (isReservedName(name)) throw new FsError(Errno.ENOENT, kind, rel);
  const hits = await l.layers.resolve(rel);
  const top = hits[0];
  if (!top) throw new FsError(Errno.ENOENT, kind, rel);
  if (kind === 'unlink' && top.isDir) throw new FsError(Errno.EISDIR, kind, rel);
  if (kind === 'rmdir' && !top.isDir) throw new FsError(Errno.ENOTDIR, kind, rel);
  if (kind === 'rmdir' && !(await isEmptyMerged(ctx, rel, hits))) throw new FsError(Errno.ENOTEMPTY, kind, rel);
  let target: Branch | undefined;
  for (const h of hits) {
    if (!l.layers.writable(h.branch)) continue;
    if (h.isDir) {
      await clearWhiteoutsIn(h.branch, h.rel);
      await sys.rmdir(h.branch.rootFd, atPath(h.rel));
    } else await sys.unlink(h.branch.rootFd, atPath(h.rel));
    target ??= h.branch;
  }
  if (top.isDir) l.layers.invalidate();
  // Whatever still shows from below (a lower copy, or one the removed copy hid) gets a whiteout.
  if ((await l.layers.resolve(rel)).length > 0) await whiteOut(ctx, target ?? (await writableTarget(ctx, sys.dirPart(rel))), rel);
  ctx.inodes.removeName(parent, name);
}

/** LINK in layered mode: the source is copied up, the link made beside it. */
export async function linkLayered(ctx: OpContext, source: Node, newParent: Node, newName: Buffer): Promise<EntryReply> {
  const l = layeredOf(ctx);
  refuseReservedName(ctx, newName, 'link');
  const oldRel = relOf(ctx, source);
  const parentRel = relOf(ctx, newParent);
  if (oldRel === undefined || parentRel === undefined) throw new FsError(Errno.ENOENT, 'link');
  const up = await l.copyUp.ensure(oldRel);
  if (up.isDir) throw new FsError(Errno.EPERM, 'link', oldRel);
  const newRel = sys.joinPath(parentRel, newName);
  if ((await l.layers.resolve(newRel)).length > 0) throw new FsError(Errno.EEXIST, 'link', newRel);
  await l.copyUp.ensureDirChain(up.branch, parentRel);
  await removeWhiteout(up.branch.rootFd, parentRel, newName);
  await sys.link(up.branch.rootFd, atPath(up.rel), up.branch.rootFd, newRel);
  // The reply is about the copy's node; the source's node (the lower file
  // until now) has one more link, which the kernel would not learn of
  // before its attribute timeout.
  ctx.kernel.attrsChanged(source.id);
  const loc = branchLoc(up.branch, newRel);
  return remember(ctx, newParent, newName, up.branch, newRel, await shownStat(ctx, up.branch, loc, await sys.lstat(loc.dir, loc.path)));
}

/** RENAME / RENAME2 in layered mode. */
export async function renameLayered(ctx: OpContext, from: Node, oldName: Buffer, to: Node, newName: Buffer, flags: number): Promise<void> {
  const l = layeredOf(ctx);
  refuseReservedName(ctx, newName, 'rename');
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) throw new FsError(Errno.EINVAL, 'rename');
  const exchange = (flags & RENAME_EXCHANGE) !== 0;
  const oldRel = ctx.inodes.childPath(from, oldName);
  const newRel = ctx.inodes.childPath(to, newName);
  if (isReservedName(oldName)) throw new FsError(Errno.ENOENT, 'rename', oldRel);
  const src = await l.layers.resolve(oldRel);
  if (src.length === 0) throw new FsError(Errno.ENOENT, 'rename', oldRel);
  const dst = await l.layers.resolve(newRel);
  if (oldRel.equals(newRel)) return;
  if (flags & RENAME_NOREPLACE && dst.length > 0) throw new FsError(Errno.EEXIST, 'rename', newRel);
  const srcDir = src[0]!.isDir;
  const hasLower = (hits: readonly LayerHit[]): LayerHit | undefined => hits.find((h) => !l.layers.writable(h.branch));

  if (exchange) {
    if (dst.length === 0) throw new FsError(Errno.ENOENT, 'rename', newRel);
    // Two directories each merged with lower content would need their redirects swapped: not supported.
    if ((srcDir && hasLower(src)) || (dst[0]!.isDir && hasLower(dst))) throw new FsError(Errno.EXDEV, 'rename', oldRel);
  } else if (dst.length > 0) {
    if (srcDir && !dst[0]!.isDir) throw new FsError(Errno.ENOTDIR, 'rename', newRel);
    if (!srcDir && dst[0]!.isDir) throw new FsError(Errno.EISDIR, 'rename', newRel);
    if (dst[0]!.isDir && !(await isEmptyMerged(ctx, newRel, dst))) throw new FsError(Errno.ENOTEMPTY, 'rename', newRel);
  }

  const up = await l.copyUp.ensure(oldRel);
  const target = up.branch;
  await l.copyUp.ensureDirChain(target, sys.dirPart(newRel));
  if (exchange) {
    const other = await l.copyUp.ensure(newRel);
    if (other.branch !== target) throw new FsError(Errno.EXDEV, 'rename', newRel);
  } else {
    await removeWhiteout(target.rootFd, sys.dirPart(newRel), newName);
    const there = await sys.lstat(target.rootFd, newRel).catch(() => undefined);
    if (there && sys.isDir(there.mode)) await clearWhiteoutsIn(target, newRel); // merged-empty, checked above
    if (srcDir) {
      // The moved directory must keep showing its lower content and nothing
      // of what the destination had below: a redirect when it has lower
      // content, else opaque.
      const lower = hasLower(src);
      if (lower) {
        if ((await l.layers.redirectOf(target, oldRel)) === undefined) await l.layers.setRedirect(target, oldRel, lower.rel);
      } else await makeOpaque(target.rootFd, oldRel, { xattrNamespace: l.layers.options.xattrNamespace });
    }
  }
  await sys.rename2(target.rootFd, oldRel, target.rootFd, newRel, flags);
  l.layers.invalidate();
  if (!exchange && (await l.layers.resolve(oldRel)).length > 0) await whiteOut(ctx, target, oldRel);
  if (exchange) ctx.inodes.exchange(from, oldName, to, newName);
  else ctx.inodes.rename(from, oldName, to, newName);
}

/** Names at the root a copy-on-write pool keeps to itself. */
export const LAYERED_HIDDEN_AT_ROOT: ReadonlySet<string> = new Set([nameKey(SCRATCH_NAME)]);
