// Ops that make a name: MKNOD, MKDIR, SYMLINK, CREATE, TMPFILE, LINK.
//
// A create works as in mergerfs (fuse_create.cpp): the getattr search policy
// finds the parent directory (the template branch), the function's create
// policy picks the target branch(es), the parent's directory chain is cloned
// onto a target that lacks it, and then the entry is made. mkdir, mknod and
// symlink make it on every target and succeed if any did; a file is created
// on the first target only.
//
// The daemon runs as root and the kernel has already checked the caller's
// permission (default_permissions), so each op creates as root and then
// gives the new file to the caller (giveToCaller), exactly as a plain
// filesystem would have owned it.
import * as abi from '../fuse/abi.js';
import type { Opcode } from '../fuse/abi.js';
import type { Header, Req } from '../fuse/protocol.js';
import type { EntryReply } from '../fuse/replies.js';
import type { CreateReply } from '../fuse/dispatch.js';
import { Errno, FsError, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Branch } from '../union/branches.js';
import { clonePath } from '../union/clonepath.js';
import { anySuccess, applyToBranches } from '../union/fold.js';
import type { Node } from '../union/inodes.js';
import { atPath, type CreateFunc } from '../union/pool.js';
import { branchLoc, entryFor, giveToCaller, identity, fileType, parentOf, relOf, remember, toAttr, type Loc, type OpContext } from './context.js';
import { openReply } from './io.js';
import { killSuidSgid } from './killpriv.js';
import { linkAcrossBranches } from './link.js';
import { linkExdev } from './exdev.js';
import { linkLayered, opaqueIfReplaced, prepareNewName, refuseReservedName, writableTarget } from './layered.js';

const AT_FDCWD = -100;

/** Where a new entry under `parent` goes: the target branches, each with the parent chain in place. */
export async function placeNew(ctx: OpContext, func: CreateFunc, parent: Node): Promise<{ targets: Branch[]; parentRel: Buffer }> {
  const parentRel = relOf(ctx, parent);
  if (parentRel === undefined) throw new FsError(Errno.ENOENT, func);
  if (ctx.layered) {
    const t = await writableTarget(ctx, parentRel);
    await ctx.layered.copyUp.ensureDirChain(t, parentRel);
    return { targets: [t], parentRel };
  }
  const template = (await ctx.pool.select('getattr', parentRel)).first;
  const targets = [...(await ctx.pool.select(func, parentRel)).branches];
  const ready: Branch[] = [];
  let firstError: unknown;
  for (const b of targets) {
    try {
      if (b !== template) await clonePath(template.rootFd, b.rootFd, parentRel);
      ready.push(b);
    } catch (e) {
      firstError ??= e;
    }
  }
  if (ready.length === 0) throw firstError instanceof Error ? firstError : new FsError(Errno.ENOENT, func);
  return { targets: ready, parentRel };
}

/** Makes one entry on every target; hands each to the caller; any success wins. */
async function makeEverywhere(
  ctx: OpContext,
  func: CreateFunc,
  h: Header,
  parent: Node,
  name: Buffer,
  mode: number,
  make: (at: Loc) => Promise<void>,
): Promise<EntryReply> {
  refuseReservedName(ctx, name, func);
  const rel = ctx.inodes.childPath(parent, name);
  if (ctx.layered) return makeLayered(ctx, func, h, parent, name, rel, mode, make);
  const { targets, parentRel } = await placeNew(ctx, func, parent);
  const made = await applyToBranches(
    targets,
    async (b) => {
      const at = branchLoc(b, rel);
      await make(at);
      const st = await giveToCaller(ctx, h, at, branchLoc(b, parentRel), mode, await sys.lstat(at.dir, at.path));
      return { b, st };
    },
    anySuccess,
    func,
  );
  return remember(ctx, parent, name, made.b, rel, made.st);
}

/** One entry on the writable target, over any whiteout of the name (a directory made there is opaque). */
async function makeLayered(ctx: OpContext, func: CreateFunc, h: Header, parent: Node, name: Buffer, rel: Buffer, mode: number, make: (at: Loc) => Promise<void>): Promise<EntryReply> {
  const parentRel = sys.dirPart(rel);
  const { target, replacedWhiteout } = await prepareNewName(ctx, parentRel, name);
  const at = branchLoc(target, rel);
  await make(at);
  if (func === 'mkdir') await opaqueIfReplaced(ctx, target, rel, replacedWhiteout);
  const st = await giveToCaller(ctx, h, at, branchLoc(target, parentRel), mode, await sys.lstat(at.dir, at.path));
  return remember(ctx, parent, name, target, rel, st);
}

export async function mknod(ctx: OpContext, req: Req<Opcode.MKNOD>): Promise<EntryReply> {
  return makeEverywhere(ctx, 'mknod', req.h, parentOf(ctx, req.h.nodeid), req.name, req.mode, (at) => sys.mknod(at.dir, at.path, req.mode, req.rdev));
}

export async function mkdir(ctx: OpContext, req: Req<Opcode.MKDIR>): Promise<EntryReply> {
  return makeEverywhere(ctx, 'mkdir', req.h, parentOf(ctx, req.h.nodeid), req.name, req.mode, (at) => sys.mkdir(at.dir, at.path, req.mode & 0o7777));
}

export async function symlink(ctx: OpContext, req: Req<Opcode.SYMLINK>): Promise<EntryReply> {
  return makeEverywhere(ctx, 'symlink', req.h, parentOf(ctx, req.h.nodeid), req.name, 0o777, (at) => sys.symlink(req.target, at.dir, at.path));
}

/** open(2) flags for the daemon's own fd: never follow a symlink swapped in on disk. */
export function daemonOpenFlags(flags: number, writeback = false): number {
  // O_DIRECT is left to the kernel (passthrough reopens with it); our own
  // buffers are not aligned for it.
  let f = (flags & ~(sys.O_CREAT | sys.O_EXCL | sys.O_NOCTTY | sys.O_DIRECT)) | sys.O_NOFOLLOW;
  // With the writeback cache the kernel reads pages of write-only files and
  // does appends itself (mergerfs does the same).
  if (writeback) {
    if ((f & sys.O_ACCMODE) === sys.O_WRONLY) f = (f & ~sys.O_ACCMODE) | sys.O_RDWR;
    f &= ~O_APPEND;
  }
  return f;
}

const O_APPEND = 0o2000;

export async function create(ctx: OpContext, req: Req<Opcode.CREATE>): Promise<CreateReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  refuseReservedName(ctx, req.name, 'create');
  let rel = ctx.inodes.childPath(parent, req.name);
  let parentRel: Buffer;
  let b: Branch;
  if (ctx.layered) {
    parentRel = sys.dirPart(rel);
    const shown = (await ctx.layered.layers.resolve(rel))[0];
    if (shown) {
      // The kernel thought the name was free; it is not. Open what shows (copied up first when writing).
      if (req.flags & sys.O_EXCL) throw new FsError(Errno.EEXIST, 'create', rel);
      const writing = (req.flags & sys.O_ACCMODE) !== sys.O_RDONLY || (req.flags & sys.O_TRUNC) !== 0;
      const hit = writing ? await ctx.layered.copyUp.ensure(rel) : shown;
      b = hit.branch;
      rel = hit.rel;
    } else b = (await prepareNewName(ctx, parentRel, req.name)).target;
  } else {
    const placed = await placeNew(ctx, 'create', parent);
    b = placed.targets[0]!;
    parentRel = placed.parentRel;
  }
  const at = branchLoc(b, rel);
  const flags = daemonOpenFlags(req.flags, ctx.cache.writeback);
  let fd: number;
  let createdHere = true;
  try {
    fd = await sys.open(at.dir, at.path, flags | sys.O_CREAT | sys.O_EXCL, req.mode & 0o7777);
  } catch (e) {
    // CREATE without O_EXCL may race with another creator: open what is
    // there, and leave its owner alone.
    if (knownErrno(e) !== Errno.EEXIST || req.flags & sys.O_EXCL) throw e;
    fd = await sys.open(at.dir, at.path, flags);
    createdHere = false;
  }
  try {
    let st = await sys.fstat(fd);
    if (createdHere) st = await giveToCaller(ctx, req.h, { dir: fd, path: sys.SELF }, branchLoc(b, parentRel), req.mode, st);
    let entry = remember(ctx, parent, req.name, b, rel, st);
    const node = ctx.inodes.get(entry.nodeid);
    // O_TRUNC of a file that was there after all (HANDLE_KILLPRIV_V2); the reply shows the mode it leaves.
    if (!createdHere && req.openFlags & abi.FUSE_OPEN_KILL_SUIDGID) {
      await killSuidSgid(ctx, node, undefined, req.h);
      entry = entryFor(ctx, node, toAttr(ctx, b, rel, await sys.fstat(fd)));
    }
    return { entry, open: await openReply(ctx, node, b, fd, req.flags, req.h.pid) };
  } catch (e) {
    sys.closeQuietly(fd);
    throw e;
  }
}

export async function tmpfile(ctx: OpContext, req: Req<Opcode.TMPFILE>): Promise<CreateReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const { targets, parentRel } = await placeNew(ctx, 'create', parent);
  const b = targets[0]!;
  const fd = await sys.open(b.rootFd, atPath(parentRel), daemonOpenFlags(req.flags, ctx.cache.writeback) | sys.O_TMPFILE, req.mode & 0o7777);
  try {
    const st = await giveToCaller(ctx, req.h, { dir: fd, path: sys.SELF }, branchLoc(b, parentRel), req.mode, await sys.fstat(fd));
    const node = ctx.inodes.rememberAnonymous(identity(b, st), fileType(st.mode));
    return { entry: entryFor(ctx, node, toAttr(ctx, b, sys.SELF, st)), open: await openReply(ctx, node, b, fd, req.flags, req.h.pid) };
  } catch (e) {
    sys.closeQuietly(fd);
    throw e;
  }
}

export async function link(ctx: OpContext, req: Req<Opcode.LINK>): Promise<EntryReply> {
  const target = ctx.inodes.get(req.oldnodeid);
  const parent = parentOf(ctx, req.h.nodeid);
  const rel = ctx.inodes.childPath(parent, req.newname);
  const oldRel = relOf(ctx, target);
  if (ctx.layered && oldRel !== undefined) return linkLayered(ctx, target, parent, req.newname);
  refuseReservedName(ctx, req.newname, 'link');
  if (oldRel === undefined) {
    // A file with no name (O_TMPFILE, or unlinked while open) is linked from
    // its open fd: AT_EMPTY_PATH, or /proc/self/fd/N where that is refused
    // (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, absent in a user namespace).
    const open = ctx.handles.anyOpen(target);
    if (!open) throw new FsError(Errno.ENOENT, 'link');
    const at = branchLoc(open.branch, rel);
    try {
      await sys.link(open.fd, sys.SELF, at.dir, at.path);
    } catch (e) {
      if (knownErrno(e) !== Errno.ENOENT && knownErrno(e) !== Errno.EPERM) throw e;
      await sys.link(AT_FDCWD, Buffer.from(`/proc/self/fd/${open.fd}`), at.dir, at.path, sys.AT_SYMLINK_FOLLOW);
    }
    return remember(ctx, parent, req.newname, open.branch, rel, await sys.lstat(at.dir, at.path));
  }
  let made;
  try {
    made = await linkAcrossBranches(ctx, oldRel, rel, parent);
  } catch (e) {
    if (knownErrno(e) !== Errno.EXDEV) throw e;
    return linkExdev(ctx, req.h, target, oldRel, req.h.nodeid, rel);
  }
  return remember(ctx, parent, req.newname, made.b, rel, made.st);
}
