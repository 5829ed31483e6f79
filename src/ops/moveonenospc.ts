// moveonenospc (mergerfs 3.7): when a write fails with ENOSPC or EDQUOT, the
// file moves to a branch the moveonenospc policy picks (run on the file's
// path, excluding the full branch, with room for the whole file) and the
// write is retried there. The move is a copy to a temp file on the target
// and an atomic rename; then every open handle of the file switches to the
// new copy (so no handle keeps writing into the unlinked original) and the
// original is removed. Passthrough handles never get here: their writes do
// not reach the daemon (as in mergerfs).
import { getPolicy } from '../../policies/index.js';
import { Errno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import { clonePath } from '../union/clonepath.js';
import { copyInto } from '../union/copyfile.js';
import type { FileHandle } from '../union/handles.js';
import { atPath } from '../union/pool.js';
import { relOf, type OpContext } from './context.js';
import { daemonOpenFlags } from './create.js';

/** Moves the file behind `h` off its full branch. Throws `original` when it cannot. */
export async function moveOffFullBranch(ctx: OpContext, h: FileHandle, needed: number, original: unknown): Promise<void> {
  const name = ctx.pool.options.moveOnEnospc;
  const rel = relOf(ctx, h.node);
  if (name === false || rel === undefined || rel.length === 0) throw original;
  const from = h.branch;
  const st = await sys.fstat(h.fd);
  let target;
  try {
    const sel = await ctx.pool.selectWith(getPolicy(name), 'create', rel, new Set([from.index]));
    target = sel.branches.find((b) => b.index !== from.index);
  } catch {
    throw original;
  }
  if (!target) throw original;
  const room = (await ctx.pool.branches.candidates(0)).find((c) => c.index === target.index);
  if (!room || room.spaceAvail < st.size + needed) throw original;

  const dirRel = sys.dirPart(rel);
  const base = sys.basePart(rel);
  if (dirRel.length) await clonePath(from.rootFd, target.rootFd, dirRel);
  // Read from a fresh descriptor: the handle's may be write-only.
  const src = await sys.open(from.rootFd, atPath(rel), sys.O_RDONLY | sys.O_NOFOLLOW);
  try {
    await copyInto(src, st, target.rootFd, dirRel, base);
  } finally {
    sys.closeQuietly(src);
  }
  // Every handle of this file on the old branch switches to the new copy.
  for (const other of ctx.handles.openOf(h.node)) {
    if (other.kind !== 'file' || other.branch !== from || other.backingId) continue;
    const fd = await sys.open(target.rootFd, atPath(rel), daemonOpenFlags(other.flags) & ~sys.O_TRUNC);
    ctx.servedIo.withdraw(other);
    sys.closeQuietly(other.fd);
    other.fd = fd;
    other.branch = target;
    ctx.servedIo.offer(other);
  }
  await sys.unlink(from.rootFd, atPath(rel)).catch((e: unknown) => ctx.log.warn(`moveonenospc: the original of ${rel.toString('latin1')} stays on ${from.root}: ${String(e)}`));
  ctx.log.info(`moveonenospc: moved ${rel.toString('latin1')} from ${from.root} to ${target.root}`);
}

export const isOutOfSpace = (errno: number | undefined): boolean => errno === Errno.ENOSPC || errno === Errno.EDQUOT;
