// RENAME and RENAME2 across branches, with mergerfs's rules (fuse_rename.cpp,
// reference §3.3): rename on every branch that holds the source; on the
// branches that do not, remove any old copy of the target afterwards so it
// cannot shadow the renamed file; where a rename failed, remove the source
// copy there. With a path-preserving create policy nothing is cloned and no
// success means EXDEV; otherwise a missing target directory is cloned onto
// the branch and the rename retried. NOREPLACE, EXCHANGE and WHITEOUT go to
// renameat2 on each branch as they came.
import { RENAME_EXCHANGE, RENAME_NOREPLACE, type Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import { Errno, FsError, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Branch } from '../union/branches.js';
import { anySuccess, applyToBranches, renamePreservingFold } from '../union/fold.js';
import { atPath } from '../union/pool.js';
import { parentOf, type OpContext } from './context.js';
import { cloneParentOnto, pathPreserving } from './link.js';
import { renameExdev } from './exdev.js';
import { renameLayered } from './layered.js';

export async function rename(ctx: OpContext, req: Req<Opcode.RENAME> | Req<Opcode.RENAME2>): Promise<void> {
  const from = parentOf(ctx, req.h.nodeid);
  const to = parentOf(ctx, req.newdir);
  if (ctx.layered) return renameLayered(ctx, from, req.oldname, to, req.newname, req.flags);
  const oldRel = ctx.inodes.childPath(from, req.oldname);
  const newRel = ctx.inodes.childPath(to, req.newname);
  const exchange = (req.flags & RENAME_EXCHANGE) !== 0;
  const preserving = pathPreserving(ctx);
  const all = ctx.pool.branches.branches;

  if (req.flags & RENAME_NOREPLACE && all.length > 1 && (await ctx.pool.everywhere(newRel)).length > 0) {
    throw new FsError(Errno.EEXIST, 'rename');
  }
  const sources = new Set((await ctx.pool.select('rename', oldRel)).branches.map((b) => b.index));
  const cleanup: Array<{ b: Branch; rel: Buffer }> = [];
  const renameOn = async (b: Branch): Promise<void> => {
    const go = (): Promise<void> => sys.rename2(b.rootFd, atPath(oldRel), b.rootFd, atPath(newRel), req.flags);
    try {
      await go();
    } catch (e) {
      if (knownErrno(e) === Errno.ENOENT && !preserving) {
        await cloneParentOnto(ctx, to, b);
        await go();
        return;
      }
      if (!exchange) cleanup.push({ b, rel: oldRel });
      throw preserving && knownErrno(e) === Errno.ENOENT ? new FsError(Errno.EXDEV, 'rename') : e;
    }
  };
  if (!exchange) for (const b of all) if (!sources.has(b.index)) cleanup.push({ b, rel: newRel });

  try {
    await applyToBranches(
      all.filter((b) => sources.has(b.index)),
      renameOn,
      preserving ? renamePreservingFold : anySuccess,
      'rename',
    );
  } catch (e) {
    if (knownErrno(e) !== Errno.EXDEV || req.flags !== 0) throw e;
    await renameExdev(ctx, req.h, oldRel, to, newRel);
    ctx.inodes.removeName(from, req.oldname);
    ctx.inodes.removeName(to, req.newname);
    return;
  }
  // Only after a success: stale copies must not shadow the renamed file.
  for (const c of cleanup) await sys.unlink(c.b.rootFd, atPath(c.rel)).catch(() => undefined);

  if (exchange) ctx.inodes.exchange(from, req.oldname, to, req.newname);
  else ctx.inodes.rename(from, req.oldname, to, req.newname);
}
