// Ops that make a name: MKNOD, MKDIR, SYMLINK, CREATE, TMPFILE, LINK.
//
// The daemon runs as root and the kernel has already checked the caller's
// permission (default_permissions), so each op creates as root and then
// gives the new file to the caller (giveToCaller), exactly as a plain
// filesystem would have owned it.
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import type { EntryReply } from '../fuse/replies.js';
import type { CreateReply } from '../fuse/dispatch.js';
import { native } from '../native/index.js';
import { Errno, FsError, check, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import { childRealPath, entryFor, fileType, giveToCaller, identity, nodePath, parentOf, type OpContext } from './context.js';
import { openReply } from './io.js';

const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_NOCTTY = 0o400;
const O_TMPFILE = 0o20200000;
const O_NOFOLLOW = 0o400000;
const O_CLOEXEC = 0o2000000;
const O_DIRECT = 0o40000;

async function made(ctx: OpContext, req: { h: Req<Opcode.MKDIR>['h'] }, parent: ReturnType<typeof parentOf>, name: Buffer, real: Buffer, mode: number, fd?: number): Promise<EntryReply> {
  let st = fd !== undefined ? await sys.fstat(fd) : await sys.lstat(real);
  st = await giveToCaller(ctx, req.h, real, nodePath(ctx, parent), mode, st, fd);
  const node = ctx.inodes.remember(parent, name, identity(st), fileType(st.mode));
  return entryFor(ctx, node, st);
}

export async function mknod(ctx: OpContext, req: Req<Opcode.MKNOD>): Promise<EntryReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const real = childRealPath(ctx, parent, req.name);
  await sys.mknod(real, req.mode, req.rdev);
  return made(ctx, req, parent, req.name, real, req.mode);
}

export async function mkdir(ctx: OpContext, req: Req<Opcode.MKDIR>): Promise<EntryReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const real = childRealPath(ctx, parent, req.name);
  await sys.mkdir(real, req.mode & 0o7777);
  return made(ctx, req, parent, req.name, real, req.mode);
}

export async function symlink(ctx: OpContext, req: Req<Opcode.SYMLINK>): Promise<EntryReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const real = childRealPath(ctx, parent, req.name);
  await sys.symlink(req.target, real);
  return made(ctx, req, parent, req.name, real, 0o777);
}

/** open(2) flags for the daemon's own fd: never follow a symlink swapped in on disk. */
export function daemonOpenFlags(flags: number): number {
  // O_DIRECT is left to the kernel (passthrough reopens with it); our own
  // buffers are not aligned for it.
  return (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT)) | O_NOFOLLOW | O_CLOEXEC;
}

export async function create(ctx: OpContext, req: Req<Opcode.CREATE>): Promise<CreateReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const real = childRealPath(ctx, parent, req.name);
  const flags = daemonOpenFlags(req.flags);
  let fd: number;
  let createdHere = true;
  try {
    fd = await sys.open(real, flags | O_CREAT | O_EXCL, req.mode & 0o7777);
  } catch (e) {
    // CREATE without O_EXCL may race with another creator: open what is there,
    // and leave its owner alone.
    if (knownErrno(e) !== Errno.EEXIST || req.flags & O_EXCL) throw e;
    fd = await sys.open(real, flags);
    createdHere = false;
  }
  try {
    let st = await sys.fstat(fd);
    if (createdHere) st = await giveToCaller(ctx, req.h, real, nodePath(ctx, parent), req.mode, st, fd);
    const node = ctx.inodes.remember(parent, req.name, identity(st), fileType(st.mode));
    return { entry: entryFor(ctx, node, st), open: openReply(ctx, node, fd, req.flags) };
  } catch (e) {
    await sys.close(fd).catch(() => undefined);
    throw e;
  }
}

export async function tmpfile(ctx: OpContext, req: Req<Opcode.TMPFILE>): Promise<CreateReply> {
  const parent = parentOf(ctx, req.h.nodeid);
  const dir = nodePath(ctx, parent);
  const fd = await sys.open(dir, (daemonOpenFlags(req.flags) & ~O_NOFOLLOW) | O_TMPFILE, req.mode & 0o7777);
  try {
    const st = await giveToCaller(ctx, req.h, dir, dir, req.mode, await sys.fstat(fd), fd);
    const node = ctx.inodes.rememberAnonymous(identity(st), fileType(st.mode));
    return { entry: entryFor(ctx, node, st), open: openReply(ctx, node, fd, req.flags) };
  } catch (e) {
    await sys.close(fd).catch(() => undefined);
    throw e;
  }
}

export async function link(ctx: OpContext, req: Req<Opcode.LINK>): Promise<EntryReply> {
  const target = ctx.inodes.get(req.oldnodeid);
  const parent = parentOf(ctx, req.h.nodeid);
  const real = childRealPath(ctx, parent, req.newname);
  if (target.names.length === 0) {
    // A file with no name (O_TMPFILE, or unlinked while open) is reached
    // through one of its open fds.
    const open = ctx.handles.anyOpen(target);
    if (!open) throw new FsError(Errno.ENOENT, 'link');
    check(await native.linkFollow(Buffer.from(`/proc/self/fd/${open.fd}`), real), 'linkat', real);
  } else {
    await sys.link(nodePath(ctx, target), real);
  }
  const st = await sys.lstat(real);
  const node = ctx.inodes.remember(parent, req.newname, identity(st), fileType(st.mode));
  return entryFor(ctx, node, st);
}
