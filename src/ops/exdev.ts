// link-exdev and rename-exdev (mergerfs rename_and_link.md): what a link or
// rename that cannot stay on one branch (EXDEV) does instead, for programs
// that do not handle EXDEV. `passthrough` returns EXDEV. The symlink forms
// leave a symlink at the new name pointing at the file: relative, through
// the branch (abs-base) or through the mount (abs-pool / abs-symlink). A
// rename first moves the file into a hidden .braidfs_rename_exdev directory
// on its branch(es), so the old name is gone as a rename requires.
import type { Header } from '../fuse/protocol.js';
import type { EntryReply } from '../fuse/replies.js';
import { Errno, FsError } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import { prefixes } from '../union/clonepath.js';
import type { Branch } from '../union/branches.js';
import type { Node } from '../union/inodes.js';
import { atPath } from '../union/pool.js';
import { entryFor, parentOf, search, statNode, type OpContext } from './context.js';
import { placeNew } from './create.js';

export const RENAME_EXDEV_DIR = Buffer.from('.braidfs_rename_exdev');

const SLASH = Buffer.from('/');

/** The path from directory `fromDir` to `to` (both relative to the mount root), as a relative symlink target. */
export function relativeTarget(fromDir: Buffer, to: Buffer): Buffer {
  const a = fromDir.length ? fromDir.toString('latin1').split('/') : [];
  const b = to.toString('latin1').split('/');
  let i = 0;
  while (i < a.length && i < b.length - 1 && a[i] === b[i]) i++;
  return Buffer.from([...a.slice(i).map(() => '..'), ...b.slice(i)].join('/'), 'latin1');
}

/** Makes the symlink `newRel` → `target` on the branch the symlink create policy picks. */
async function placeSymlink(ctx: OpContext, newParent: Node, newRel: Buffer, target: Buffer, h: Header): Promise<void> {
  const { targets } = await placeNew(ctx, 'symlink', newParent);
  const b = targets[0]!;
  await sys.symlink(target, b.rootFd, atPath(newRel));
  if (h.uid !== 0 || h.gid !== 0) await sys.lchown(b.rootFd, atPath(newRel), h.uid, h.gid);
}

/** link-exdev: instead of EXDEV, a symlink at `newRel`; the kernel gets the source's entry, uncached. */
export async function linkExdev(ctx: OpContext, h: Header, source: Node, oldRel: Buffer, newParentId: bigint, newRel: Buffer): Promise<EntryReply> {
  const mode = ctx.pool.options.linkExdev;
  if (mode === 'passthrough') throw new FsError(Errno.EXDEV, 'link');
  let target: Buffer;
  if (mode === 'rel-symlink') target = relativeTarget(sys.dirPart(newRel), oldRel);
  else if (mode === 'abs-base-symlink') target = Buffer.concat([Buffer.from((await search(ctx, 'open', source)).branch.root), SLASH, oldRel]);
  else target = Buffer.concat([Buffer.from(ctx.pool.options.mountpoint), SLASH, oldRel]);
  await placeSymlink(ctx, parentOf(ctx, newParentId), newRel, target, h);
  source.nlookup++;
  return { ...entryFor(ctx, source, await statNode(ctx, source)), entryValid: 0, attrValid: 0 };
}

/** rename-exdev: move the source aside on its branches, then symlink the new name to it. */
export async function renameExdev(ctx: OpContext, h: Header, oldRel: Buffer, newParent: Node, newRel: Buffer): Promise<void> {
  const mode = ctx.pool.options.renameExdev;
  if (mode === 'passthrough') throw new FsError(Errno.EXDEV, 'rename');
  const aside = Buffer.concat([RENAME_EXDEV_DIR, SLASH, oldRel]);
  const holders = (await ctx.pool.select('rename', oldRel)).branches;
  const moved: Branch[] = [];
  try {
    for (const b of holders) {
      // The aside directory is root's and world-writable with the sticky bit, like /tmp.
      await sys.mkdir(b.rootFd, RENAME_EXDEV_DIR, 0o1777).catch(() => undefined);
      for (const p of prefixes(sys.dirPart(oldRel))) await sys.mkdir(b.rootFd, Buffer.concat([RENAME_EXDEV_DIR, SLASH, p]), 0o755).catch(() => undefined);
      await sys.rename2(b.rootFd, atPath(oldRel), b.rootFd, aside, 0);
      moved.push(b);
    }
    const target = mode === 'rel-symlink' ? relativeTarget(sys.dirPart(newRel), aside) : Buffer.concat([Buffer.from(ctx.pool.options.mountpoint), SLASH, aside]);
    await placeSymlink(ctx, newParent, newRel, target, h);
  } catch (e) {
    // Put everything back as it was.
    for (const b of moved) await sys.rename2(b.rootFd, aside, b.rootFd, atPath(oldRel), 0).catch(() => undefined);
    throw e;
  }
}
