// STATFS, ACCESS, IOCTL.
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import type { StatfsReply } from '../fuse/replies.js';
import { Errno, FsError } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import { statNode, type OpContext } from './context.js';

export async function statfs(ctx: OpContext, _req: Req<Opcode.STATFS>): Promise<StatfsReply> {
  const s = await sys.fstatvfs(ctx.rootFd);
  return { blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize, namelen: s.namemax, frsize: s.frsize };
}

/**
 * Only sent when the mount lacks default_permissions (braidfs always sets
 * it), but answered correctly anyway from the mode bits.
 */
export async function access(ctx: OpContext, req: Req<Opcode.ACCESS>): Promise<void> {
  const st = await statNode(ctx, ctx.inodes.get(req.h.nodeid));
  const mask = req.mask & 7;
  if (mask === 0 || req.h.uid === 0) {
    if (req.h.uid === 0 && mask & 1 && !sys.isDir(st.mode) && !(st.mode & 0o111)) throw new FsError(Errno.EACCES, 'access');
    return;
  }
  const shift = req.h.uid === st.uid ? 6 : req.h.gid === st.gid ? 3 : 0;
  if (((st.mode >> shift) & mask) !== mask) throw new FsError(Errno.EACCES, 'access');
}

export async function ioctl(_ctx: OpContext, _req: Req<Opcode.IOCTL>): Promise<void> {
  throw new FsError(Errno.ENOTTY, 'ioctl');
}
