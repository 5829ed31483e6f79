// Open files: OPEN, READ, WRITE, FLUSH, RELEASE, FSYNC, FALLOCATE, LSEEK,
// COPY_FILE_RANGE.
//
// With passthrough the kernel serves read/write/mmap on the backing file
// itself; READ and WRITE then never reach us for that file. Without it (a
// user namespace, not root, or -o passthrough.io=off) they are served here.
import * as abi from '../fuse/abi.js';
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import type { OpenReply } from '../fuse/replies.js';
import { Errno, FsError, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Node } from '../union/inodes.js';
import type { Branch } from '../union/branches.js';
import { OTHER_BACKING } from '../union/passthrough.js';
import { relOf, search, type OpContext } from './context.js';
import { daemonOpenFlags } from './create.js';
import { isOutOfSpace, moveOffFullBranch } from './moveonenospc.js';
import { hasSuidSgid, killSuidSgid } from './killpriv.js';

const O_ACCMODE = sys.O_ACCMODE;
const O_WRONLY = sys.O_WRONLY;
const AT_FDCWD = -100;
const O_APPEND = 0o2000;

/** An open that may change the file: it triggers a copy-up (write access, O_TRUNC, O_APPEND; overlay §1.5). */
const opensForChange = (flags: number): boolean => (flags & O_ACCMODE) !== sys.O_RDONLY || (flags & (sys.O_TRUNC | O_APPEND)) !== 0;

export type PassthroughIo = 'off' | 'ro' | 'wo' | 'rw';

function modeAllows(mode: PassthroughIo, flags: number): boolean {
  const acc = flags & O_ACCMODE;
  switch (mode) {
    case 'off':
      return false;
    case 'ro':
      return acc === 0;
    case 'wo':
      return acc === O_WRONLY;
    case 'rw':
      return true;
  }
}

/**
 * Registers an fd as a handle and decides passthrough for it. The kernel
 * fails an open (EIO) that mixes passthrough and cached opens of one inode,
 * so a node already in passthrough keeps every open in it, and a node with
 * cached opens keeps new ones cached too.
 */
export async function openReply(ctx: OpContext, node: Node, branch: Branch, fd: number, flags: number, pid: number): Promise<OpenReply> {
  const others = ctx.handles.openCount(node);
  const h = ctx.handles.addFile(node, branch, fd, flags);
  const attach = ctx.passthrough.has(node.id) || (others === 0 && modeAllows(ctx.passthroughIo, flags));
  const id = attach ? ctx.passthrough.acquire(node.id, fd, branch.index) : 0;
  if (id === OTHER_BACKING) {
    h.backingId = 0;
    ctx.servedIo.offer(h);
    return { fh: h.fh, openFlags: abi.FOPEN_DIRECT_IO, backingId: 0 };
  }
  h.backingId = id;
  if (!id) {
    // Not in passthrough: cache.files decides about the page cache.
    const cacheFlags = await ctx.pageCache.openFlags(ctx.cache.files, node.id, pid, () => sys.fstat(fd), ctx.cache.processNames);
    ctx.servedIo.offer(h);
    return { fh: h.fh, openFlags: cacheFlags, backingId: 0 };
  }
  return { fh: h.fh, openFlags: h.backingId ? abi.FOPEN_PASSTHROUGH : 0, backingId: h.backingId };
}

export async function open(ctx: OpContext, req: Req<Opcode.OPEN>): Promise<OpenReply> {
  const node = ctx.inodes.get(req.h.nodeid);
  // Opening a lower file to change it copies it up first; a read-only open reads the lower file.
  const rel = ctx.layered && opensForChange(req.flags) ? relOf(ctx, node) : undefined;
  if (rel !== undefined) await ctx.layered!.copyUp.ensure(rel);
  const f = await search(ctx, 'open', node);
  // A file with no name left (O_TMPFILE, /proc/PID/fd/N) is reopened through
  // one of our fds; a named one by name, never following a symlink.
  // The kernel still holds the pre-copy-up node, in passthrough on the lower
  // file through an fd opened earlier; it takes no second backing file, nor
  // a cached open. ESTALE makes the VFS walk the path again with
  // LOOKUP_REVAL: the lookup then finds the copy, a new node, and the open
  // is retried there (fds on the lower file keep the old node).
  if (ctx.layered && ctx.passthrough.backedByOther(node.id, f.branch.index)) throw new FsError(Errno.ESTALE, 'open');
  const fd = f.loc.path.length
    ? await sys.open(f.loc.dir, f.loc.path, daemonOpenFlags(req.flags, ctx.cache.writeback))
    : await sys.open(AT_FDCWD, Buffer.from(`/proc/self/fd/${f.loc.dir}`), daemonOpenFlags(req.flags, ctx.cache.writeback) & ~sys.O_NOFOLLOW);
  try {
    if (req.openFlags & abi.FUSE_OPEN_KILL_SUIDGID) await killSuidSgid(ctx, node, undefined, req.h);
  } catch (e) {
    sys.closeQuietly(fd);
    throw e;
  }
  return openReply(ctx, node, f.branch, fd, req.flags, req.h.pid);
}

export async function read(ctx: OpContext, req: Req<Opcode.READ>): Promise<Buffer> {
  const h = ctx.handles.file(req.fh);
  const buf = Buffer.allocUnsafe(req.size);
  let got = 0;
  // A short read from the backing file means EOF only when it returns 0;
  // keep going so the kernel never sees a spurious short read.
  while (got < req.size) {
    const n = await sys.pread(h.fd, got === 0 ? buf : buf.subarray(got), req.offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === req.size ? buf : buf.subarray(0, got);
}

async function writeAll(fd: number, data: Buffer, offset: number): Promise<number> {
  let done = 0;
  while (done < data.length) {
    const n = await sys.pwrite(fd, done === 0 ? data : data.subarray(done), offset + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export async function write(ctx: OpContext, req: Req<Opcode.WRITE>): Promise<number> {
  const h = ctx.handles.file(req.fh);
  const fd = h.fd;
  // Sent for every write by a caller without CAP_FSETID; an fstat tells
  // whether there is anything to clear (the override xattr may say so in rootless overlay).
  if (req.writeFlags & abi.FUSE_WRITE_KILL_SUIDGID && (ctx.layered?.override || hasSuidSgid((await sys.fstat(fd)).mode))) {
    await killSuidSgid(ctx, h.node, req.fh, req.h);
  }
  try {
    return await writeAll(fd, req.data, req.offset);
  } catch (e) {
    if (!isOutOfSpace(knownErrno(e))) throw e;
    // Another write may have moved the file meanwhile; else move it now.
    if (h.fd === fd) await moveOffFullBranch(ctx, h, req.data.length, e);
    return writeAll(h.fd, req.data, req.offset);
  }
}

export async function flush(ctx: OpContext, req: Req<Opcode.FLUSH>): Promise<void> {
  // close(2) drops every POSIX lock the closing process holds on the file
  // (through any fd). The kernel leaves that to a filesystem that keeps
  // locks itself, and FLUSH carries the owner for it.
  const h = ctx.handles.file(req.fh);
  ctx.locks.releasePosix(h.node.id, req.lockOwner);
}

export async function release(ctx: OpContext, req: Req<Opcode.RELEASE>): Promise<void> {
  const h = ctx.handles.remove(req.fh);
  if (!h || h.kind !== 'file') return;
  if (req.releaseFlags & abi.FUSE_RELEASE_FLOCK_UNLOCK) ctx.locks.releaseFlock(h.node.id, req.lockOwner);
  if (h.backingId) ctx.passthrough.release(h.node.id);
  ctx.servedIo.withdraw(h);
  sys.close(h.fd);
}

export async function fsync(ctx: OpContext, req: Req<Opcode.FSYNC>): Promise<void> {
  // fsync=0 / volatile (overlay mode): the caller asked for speed over durability.
  if (ctx.layered && !ctx.layered.fsync) return;
  const h = ctx.handles.file(req.fh);
  if (req.fsyncFlags & abi.FUSE_FSYNC_FDATASYNC) await sys.fdatasync(h.fd);
  else await sys.fsync(h.fd);
}

export async function fallocate(ctx: OpContext, req: Req<Opcode.FALLOCATE>): Promise<void> {
  const h = ctx.handles.file(req.fh);
  if ((h.flags & O_ACCMODE) === 0) throw new FsError(Errno.EBADF, 'fallocate');
  await sys.fallocate(h.fd, req.mode, req.offset, req.length);
}

export async function lseek(ctx: OpContext, req: Req<Opcode.LSEEK>): Promise<number> {
  const h = ctx.handles.file(req.fh);
  return sys.lseek(h.fd, Number(req.offset), req.whence);
}

export async function copyFileRange(ctx: OpContext, req: Req<Opcode.COPY_FILE_RANGE> | Req<Opcode.COPY_FILE_RANGE_64>): Promise<number> {
  const src = ctx.handles.file(req.fhIn);
  const dst = ctx.handles.file(req.fhOut);
  if ((dst.flags & O_ACCMODE) === 0 || (src.flags & O_ACCMODE) === O_WRONLY) throw new FsError(Errno.EBADF, 'copy_file_range');
  return sys.copyFileRange(src.fd, req.offIn, dst.fd, req.offOut, req.len, Number(req.flags));
}
