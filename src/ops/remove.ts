// UNLINK and RMDIR.
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import * as sys from '../sys/fs.js';
import { childLoc, parentOf, type OpContext } from './context.js';

export async function unlink(ctx: OpContext, req: Req<Opcode.UNLINK>): Promise<void> {
  const parent = parentOf(ctx, req.h.nodeid);
  const at = childLoc(ctx, parent, req.name);
  await sys.unlink(at.dir, at.path);
  ctx.inodes.removeName(parent, req.name);
}

export async function rmdir(ctx: OpContext, req: Req<Opcode.RMDIR>): Promise<void> {
  const parent = parentOf(ctx, req.h.nodeid);
  const at = childLoc(ctx, parent, req.name);
  await sys.rmdir(at.dir, at.path);
  ctx.inodes.removeName(parent, req.name);
}
