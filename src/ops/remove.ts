// UNLINK and RMDIR on every branch the action policy picks (epall: each
// branch holding the name). unlink: any success wins; rmdir: ENOTEMPTY and
// EEXIST stick even over a success (mergerfs's rmdir rule).
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import * as sys from '../sys/fs.js';
import { anySuccess, applyToBranches, rmdirFold } from '../union/fold.js';
import { atPath } from '../union/pool.js';
import { parentOf, type OpContext } from './context.js';

export async function unlink(ctx: OpContext, req: Req<Opcode.UNLINK>): Promise<void> {
  const parent = parentOf(ctx, req.h.nodeid);
  const rel = ctx.inodes.childPath(parent, req.name);
  const targets = (await ctx.pool.select('unlink', rel)).branches;
  await applyToBranches(targets, (b) => sys.unlink(b.rootFd, atPath(rel)), anySuccess, 'unlink');
  ctx.inodes.removeName(parent, req.name);
}

export async function rmdir(ctx: OpContext, req: Req<Opcode.RMDIR>): Promise<void> {
  const parent = parentOf(ctx, req.h.nodeid);
  const rel = ctx.inodes.childPath(parent, req.name);
  const targets = (await ctx.pool.select('rmdir', rel)).branches;
  await applyToBranches(targets, (b) => sys.rmdir(b.rootFd, atPath(rel)), rmdirFold, 'rmdir');
  ctx.inodes.removeName(parent, req.name);
}
