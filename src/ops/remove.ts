// UNLINK and RMDIR on every branch the action policy picks (epall: each
// branch holding the name). unlink: any success wins; rmdir: ENOTEMPTY and
// EEXIST stick even over a success (mergerfs's rmdir rule).
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import * as sys from '../sys/fs.js';
import { anySuccess, applyToBranches, rmdirFold, type FoldRule } from '../union/fold.js';
import { atPath } from '../union/pool.js';
import { parentOf, type OpContext } from './context.js';
import { removeLayered } from './layered.js';

async function removeEverywhere(
  ctx: OpContext,
  req: Req<Opcode.UNLINK> | Req<Opcode.RMDIR>,
  func: 'unlink' | 'rmdir',
  remove: (dir: number, path: Buffer) => Promise<void>,
  rule: FoldRule<void>,
): Promise<void> {
  const parent = parentOf(ctx, req.h.nodeid);
  if (ctx.layered) return removeLayered(ctx, parent, req.name, func);
  const rel = ctx.inodes.childPath(parent, req.name);
  const targets = (await ctx.pool.select(func, rel)).branches;
  await applyToBranches(targets, (b) => remove(b.rootFd, atPath(rel)), rule, func);
  ctx.inodes.removeName(parent, req.name);
}

/** The addon answered UNLINK(parent, name) (fuse/served-lookups.ts): the name is gone, as after unlink() here. */
export function forgetUnlinkedName(ctx: OpContext, parentId: bigint, name: Buffer): void {
  if (ctx.inodes.has(parentId)) ctx.inodes.removeName(ctx.inodes.get(parentId), name);
}

export function unlink(ctx: OpContext, req: Req<Opcode.UNLINK>): Promise<void> {
  return removeEverywhere(ctx, req, 'unlink', sys.unlink, anySuccess);
}

export function rmdir(ctx: OpContext, req: Req<Opcode.RMDIR>): Promise<void> {
  return removeEverywhere(ctx, req, 'rmdir', sys.rmdir, rmdirFold);
}
