// Ops that make a name: MKNOD, MKDIR, SYMLINK, CREATE, TMPFILE, LINK.
//
// The daemon runs as root and the kernel has already checked the caller's
// permission (default_permissions), so each op creates as root and then
// gives the new file to the caller (giveToCaller), exactly as a plain
// filesystem would have owned it.
import type { Opcode } from '../fuse/abi.js';
import type { Header, Req } from '../fuse/protocol.js';
import type { EntryReply } from '../fuse/replies.js';
import type { CreateReply } from '../fuse/dispatch.js';
import { Errno, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Node } from '../union/inodes.js';
import { childLoc, entryFor, fileType, giveToCaller, identity, locate, parentOf, type Loc, type OpContext } from './context.js';
import { openReply } from './io.js';

const AT_FDCWD = -100;

/** Hands the new file to the caller and counts the kernel's reference to it. */
async function made(ctx: OpContext, h: Header, parent: Node, name: Buffer, at: Loc, mode: number): Promise<EntryReply> {
  const st = await giveToCaller(ctx, h, at, locate(ctx, parent), mode, await sys.lstat(at.dir, at.path));
  const node = ctx.inodes.remember(parent, name, identity(st), fileType(st.mode));
  return entryFor(ctx, node, st);
}

export async function mknod(ctx: OpContext, req: Req<Opcode.MKNOD>): Promise<EntryReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const at = childLoc(ctx, parent, req.name);
  await sys.mknod(at.dir, at.path, req.mode, req.rdev);
  return made(ctx, req.h, parent, req.name, at, req.mode);
}

export async function mkdir(ctx: OpContext, req: Req<Opcode.MKDIR>): Promise<EntryReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const at = childLoc(ctx, parent, req.name);
  await sys.mkdir(at.dir, at.path, req.mode & 0o7777);
  return made(ctx, req.h, parent, req.name, at, req.mode);
}

export async function symlink(ctx: OpContext, req: Req<Opcode.SYMLINK>): Promise<EntryReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const at = childLoc(ctx, parent, req.name);
  await sys.symlink(req.target, at.dir, at.path);
  return made(ctx, req.h, parent, req.name, at, 0o777);
}

/** open(2) flags for the daemon's own fd: never follow a symlink swapped in on disk. */
export function daemonOpenFlags(flags: number): number {
  // O_DIRECT is left to the kernel (passthrough reopens with it); our own
  // buffers are not aligned for it.
  return (flags & ~(sys.O_CREAT | sys.O_EXCL | sys.O_NOCTTY | sys.O_DIRECT)) | sys.O_NOFOLLOW;
}

export async function create(ctx: OpContext, req: Req<Opcode.CREATE>): Promise<CreateReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const at = childLoc(ctx, parent, req.name);
  const flags = daemonOpenFlags(req.flags);
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
    const self = { dir: fd, path: sys.SELF };
    let st = await sys.fstat(fd);
    if (createdHere) st = await giveToCaller(ctx, req.h, self, locate(ctx, parent), req.mode, st);
    const node = ctx.inodes.remember(parent, req.name, identity(st), fileType(st.mode));
    return { entry: entryFor(ctx, node, st), open: openReply(ctx, node, fd, req.flags) };
  } catch (e) {
    sys.closeQuietly(fd);
    throw e;
  }
}

export async function tmpfile(ctx: OpContext, req: Req<Opcode.TMPFILE>): Promise<CreateReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const dir = locate(ctx, parent);
  const flags = daemonOpenFlags(req.flags) | sys.O_TMPFILE;
  const fd = await sys.open(dir.dir, dir.path, flags, req.mode & 0o7777);
  try {
    const st = await giveToCaller(ctx, req.h, { dir: fd, path: sys.SELF }, dir, req.mode, await sys.fstat(fd));
    const node = ctx.inodes.rememberAnonymous(identity(st), fileType(st.mode));
    return { entry: entryFor(ctx, node, st), open: openReply(ctx, node, fd, req.flags) };
  } catch (e) {
    sys.closeQuietly(fd);
    throw e;
  }
}

export async function link(ctx: OpContext, req: Req<Opcode.LINK>): Promise<EntryReply> {
  // A file with no name (O_TMPFILE, or unlinked while open) is linked from
  // its open fd (AT_EMPTY_PATH).
  const from = locate(ctx, ctx.inodes.get(req.oldnodeid));
  const parent = parentOf(ctx, req.h.nodeid);
  const at = childLoc(ctx, parent, req.newname);
  try {
    await sys.link(from.dir, from.path, at.dir, at.path);
  } catch (e) {
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (absent in a user namespace);
    // /proc/self/fd/N with AT_SYMLINK_FOLLOW does the same without it.
    if (from.path.length !== 0 || (knownErrno(e) !== Errno.ENOENT && knownErrno(e) !== Errno.EPERM)) throw e;
    await sys.link(AT_FDCWD, Buffer.from(`/proc/self/fd/${from.dir}`), at.dir, at.path, sys.AT_SYMLINK_FOLLOW);
  }
  const st = await sys.lstat(at.dir, at.path);
  const node = ctx.inodes.remember(parent, req.newname, identity(st), fileType(st.mode));
  return entryFor(ctx, node, st);
}
