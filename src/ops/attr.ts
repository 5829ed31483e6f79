// GETATTR, SETATTR and STATX.
import * as abi from '../fuse/abi.js';
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import { statxOut, type FuseAttr } from '../fuse/replies.js';
import { native } from '../native/index.js';
import { check } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import { nodePath, statNode, toAttr, type OpContext } from './context.js';

export async function getattr(ctx: OpContext, req: Req<Opcode.GETATTR>): Promise<{ attr: FuseAttr; valid: number }> {
  const node = ctx.inodes.get(req.h.nodeid);
  const fh = req.getattrFlags & abi.FUSE_GETATTR_FH ? req.fh : undefined;
  return { attr: toAttr(await statNode(ctx, node, fh)), valid: ctx.timeouts.attr };
}

function time(valid: number, setBit: number, nowBit: number, sec: bigint, nsec: number): sys.TimeSpec {
  if (valid & nowBit) return { sec: 0, nsec: sys.UTIME_NOW };
  if (valid & setBit) return { sec: Number(sec), nsec };
  return { sec: 0, nsec: sys.UTIME_OMIT };
}

/**
 * Applies each requested change in the order a plain filesystem's
 * notify_change would: owner, mode, size, times. With FATTR_FH the open fd is
 * used, so ftruncate/fchmod work on files that have lost their name.
 */
export async function setattr(ctx: OpContext, req: Req<Opcode.SETATTR>): Promise<{ attr: FuseAttr; valid: number }> {
  const node = ctx.inodes.get(req.h.nodeid);
  const v = req.valid;
  const fd = v & abi.FATTR_FH ? ctx.handles.file(req.fh).fd : (node.names.length === 0 ? ctx.handles.anyOpen(node)?.fd : undefined);
  const path = fd === undefined ? nodePath(ctx, node) : undefined;

  if (v & (abi.FATTR_UID | abi.FATTR_GID)) {
    const uid = v & abi.FATTR_UID ? req.uid : -1;
    const gid = v & abi.FATTR_GID ? req.gid : -1;
    if (fd !== undefined) await sys.fchown(fd, uid, gid);
    else await sys.lchown(path!, uid, gid);
  }
  if (v & abi.FATTR_MODE) {
    if (fd !== undefined) await sys.fchmod(fd, req.mode & 0o7777);
    else await sys.lchmod(path!, req.mode & 0o7777);
  }
  if (v & abi.FATTR_SIZE) {
    if (fd !== undefined) await sys.ftruncate(fd, req.size);
    else await sys.truncate(path!, req.size);
  }
  if (v & (abi.FATTR_ATIME | abi.FATTR_MTIME | abi.FATTR_ATIME_NOW | abi.FATTR_MTIME_NOW)) {
    const at = time(v, abi.FATTR_ATIME, abi.FATTR_ATIME_NOW, req.atime, req.atimensec);
    const mt = time(v, abi.FATTR_MTIME, abi.FATTR_MTIME_NOW, req.mtime, req.mtimensec);
    if (fd !== undefined) await sys.futimens(fd, at, mt);
    else await sys.lutimens(path!, at, mt);
  }
  const st = fd !== undefined ? await sys.fstat(fd) : await sys.lstat(path!);
  return { attr: toAttr(st), valid: ctx.timeouts.attr };
}

const STATX_BASIC_AND_BTIME = 0xfff;

export async function statx(ctx: OpContext, req: Req<Opcode.STATX>): Promise<Buffer> {
  const node = ctx.inodes.get(req.h.nodeid);
  const out = new BigInt64Array(20);
  const fd = req.getattrFlags & abi.FUSE_GETATTR_FH ? ctx.handles.file(req.fh).fd : (node.names.length === 0 ? ctx.handles.anyOpen(node)?.fd : undefined);
  const path = fd === undefined ? nodePath(ctx, node) : Buffer.alloc(0);
  check(await native.statx(path, fd ?? -1, STATX_BASIC_AND_BTIME, out), 'statx', path);
  const st: sys.Stat = {
    dev: out[0]!, ino: BigInt.asUintN(64, out[1]!), mode: Number(out[2]), nlink: Number(out[3]), uid: Number(out[4]), gid: Number(out[5]),
    rdev: Number(out[6]), size: Number(out[7]), blksize: Number(out[8]), blocks: Number(out[9]),
    atimeSec: Number(out[10]), atimeNsec: Number(out[11]), mtimeSec: Number(out[12]), mtimeNsec: Number(out[13]),
    ctimeSec: Number(out[14]), ctimeNsec: Number(out[15]),
  };
  const hasBtime = (Number(out[18]) & 0x800) !== 0;
  const rdev = st.rdev;
  // glibc's major/minor split of a dev_t
  const major = ((rdev >>> 8) & 0xfff) | Math.floor(rdev / 2 ** 32) & ~0xfff;
  const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
  return statxOut(toAttr(st), ctx.timeouts.attr, major, minor, hasBtime ? { sec: Number(out[16]), nsec: Number(out[17]) } : undefined);
}
