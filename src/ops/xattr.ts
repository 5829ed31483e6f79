// SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR, never following a final
// symlink (the kernel already resolved the ones the caller followed).
// get/list read the branch the search policy picks; set/remove act on every
// branch the action policy picks, folded as chmod is (preferSearch).
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import { Errno, FsError } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import { isPrivateXattr } from '../union/layers.js';
import { actOnBranches, search, type OpContext } from './context.js';

const TRUSTED = Buffer.from('trusted.');

/**
 * Overlay-private xattrs (layer markers, origins) belong to the layers, not
 * the user: they cannot be set or removed (EPERM), read as absent (ENODATA),
 * and are left out of listings (reference overlay.md §1.3).
 */
function refusePrivate(ctx: OpContext, name: Buffer, op: string): void {
  noXattrs(ctx, op);
  if (ctx.layered && isPrivateXattr(name)) throw new FsError(Errno.EPERM, op, name);
}

/**
 * noxattrs=1 (overlay mode) and xattr=nosys: ENOSYS, so the kernel stops
 * asking; xattr=noattr: ENODATA (ENOATTR) for every call, as mergerfs does.
 */
function noXattrs(ctx: OpContext, op: string): void {
  if (ctx.layered?.noxattrs || ctx.xattrs.mode === 'nosys') throw new FsError(Errno.ENOSYS, op);
  if (ctx.xattrs.mode === 'noattr') throw new FsError(Errno.ENODATA, op);
}

const SECURITY_CAPABILITY = Buffer.from('security.capability');

export async function setxattr(ctx: OpContext, req: Req<Opcode.SETXATTR>): Promise<void> {
  refusePrivate(ctx, req.name, 'setxattr');
  await actOnBranches(ctx, 'setxattr', ctx.inodes.get(req.h.nodeid), undefined, (at) => sys.lsetxattr(at.dir, at.path, req.name, req.value, req.flags));
}

export async function removexattr(ctx: OpContext, req: Req<Opcode.REMOVEXATTR>): Promise<void> {
  refusePrivate(ctx, req.name, 'removexattr');
  await actOnBranches(ctx, 'removexattr', ctx.inodes.get(req.h.nodeid), undefined, (at) => sys.lremovexattr(at.dir, at.path, req.name));
}

export async function getxattr(ctx: OpContext, req: Req<Opcode.GETXATTR>): Promise<Buffer | number> {
  noXattrs(ctx, 'getxattr');
  if (ctx.layered && isPrivateXattr(req.name)) throw new FsError(Errno.ENODATA, 'getxattr', req.name);
  if (!ctx.xattrs.securityCapability && req.name.equals(SECURITY_CAPABILITY)) throw new FsError(Errno.ENODATA, 'getxattr', req.name);
  const f = await search(ctx, 'getxattr', ctx.inodes.get(req.h.nodeid));
  return sys.lgetxattr(f.loc.dir, f.loc.path, req.name, req.size);
}

/**
 * The kernel checks get/set of trusted.* itself, but leaves listing to the
 * filesystem: ext4 shows trusted.* names only to CAP_SYS_ADMIN, and since the
 * daemon lists as root, it filters them out for everyone else.
 */
export async function listxattr(ctx: OpContext, req: Req<Opcode.LISTXATTR>): Promise<Buffer | number> {
  noXattrs(ctx, 'listxattr');
  const f = await search(ctx, 'listxattr', ctx.inodes.get(req.h.nodeid));
  if (req.h.uid === 0 && !ctx.layered) return sys.llistxattr(f.loc.dir, f.loc.path, req.size);
  const all = await sys.llistxattr(f.loc.dir, f.loc.path, 65536);
  if (typeof all === 'number') return all;
  const kept: Buffer[] = [];
  for (let p = 0; p < all.length; ) {
    const z = all.indexOf(0, p);
    const end = z < 0 ? all.length : z + 1;
    const name = all.subarray(p, end);
    const bare = name[name.length - 1] === 0 ? name.subarray(0, -1) : name;
    const trusted = name.subarray(0, TRUSTED.length).equals(TRUSTED);
    if (!(trusted && req.h.uid !== 0) && !(ctx.layered && isPrivateXattr(bare))) kept.push(name);
    p = end;
  }
  const list = Buffer.concat(kept);
  if (req.size === 0) return list.length;
  if (list.length > req.size) throw new FsError(Errno.ERANGE, 'listxattr');
  return list;
}
