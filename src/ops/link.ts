// LINK across branches, with mergerfs's rules (rename_and_link.md, fuse_link.cpp):
// a hard link can only be made on a branch that holds the source. With a
// path-preserving create policy (ep*, msp*) a branch lacking the target's
// directory gives EXDEV; otherwise that directory is cloned there first.
import { Errno, FsError, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Branch } from '../union/branches.js';
import { clonePath } from '../union/clonepath.js';
import { applyToBranches, linkFold } from '../union/fold.js';
import type { Node } from '../union/inodes.js';
import { atPath } from '../union/pool.js';
import { relOf, type OpContext } from './context.js';

/** Whether rename and link must keep files on the branch that holds them. */
export function pathPreserving(ctx: OpContext): boolean {
  return ctx.pool.policy('create').pathPreserving && !ctx.pool.options.ignorePathPreservingOnRename;
}

/** Clones `newParent`'s directory chain onto `b` from the branch the getattr policy finds it on. */
export async function cloneParentOnto(ctx: OpContext, newParent: Node, b: Branch): Promise<void> {
  const parentRel = relOf(ctx, newParent);
  if (parentRel === undefined) throw new FsError(Errno.ENOENT, 'clonepath');
  const template = (await ctx.pool.select('getattr', parentRel)).first;
  await clonePath(template.rootFd, b.rootFd, parentRel);
}

export async function linkAcrossBranches(ctx: OpContext, oldRel: Buffer, newRel: Buffer, newParent: Node): Promise<{ b: Branch; st: sys.Stat }> {
  const preserving = pathPreserving(ctx);
  const sources = (await ctx.pool.select('link', oldRel)).branches;
  return applyToBranches(
    sources,
    async (b) => {
      const doLink = (): Promise<void> => sys.link(b.rootFd, atPath(oldRel), b.rootFd, atPath(newRel));
      try {
        await doLink();
      } catch (e) {
        if (knownErrno(e) !== Errno.ENOENT) throw e;
        if (preserving) throw new FsError(Errno.EXDEV, 'link');
        await cloneParentOnto(ctx, newParent, b);
        await doLink();
      }
      return { b, st: await sys.lstat(b.rootFd, atPath(newRel)) };
    },
    linkFold,
    'link',
  );
}
