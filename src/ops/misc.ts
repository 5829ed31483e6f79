// STATFS, ACCESS, IOCTL.
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import type { StatfsReply } from '../fuse/replies.js';
import { Errno, FsError } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import { atPath } from '../union/pool.js';
import { relOf, search, type OpContext } from './context.js';

/**
 * The pool's statfs, as mergerfs computes it: every branch root (statfs=base)
 * or only the branches holding the path (full); one filesystem counted once
 * (by st_dev); block counts scaled to the smallest fragment size and summed;
 * sizes and name length the minima. statfs_ignore leaves the free space of RO
 * (or RO and NC) branches out.
 */
export async function statfs(ctx: OpContext, req: Req<Opcode.STATFS>): Promise<StatfsReply> {
  const pool = ctx.pool;
  const rel = pool.options.statfs === 'full' ? (relOf(ctx, ctx.inodes.get(req.h.nodeid)) ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const seen = new Set<bigint>();
  const parts: Array<{ v: sys.StatVfs; ignoreFree: boolean }> = [];
  for (const b of pool.branches.branches) {
    let st: sys.Stat;
    try {
      st = await sys.lstat(b.rootFd, atPath(rel));
    } catch {
      continue;
    }
    if (seen.has(st.dev)) continue;
    seen.add(st.dev);
    const ignore = pool.options.statfsIgnore;
    parts.push({ v: await sys.fstatvfs(b.rootFd), ignoreFree: (ignore === 'ro' && b.mode === 'RO') || (ignore === 'nc' && b.mode !== 'RW') });
  }
  if (parts.length === 0) throw new FsError(Errno.ENOENT, 'statfs');
  const frsize = Math.min(...parts.map((p) => p.v.frsize));
  const sum = (f: (p: (typeof parts)[number]) => number): number => parts.reduce((acc, p) => acc + f(p), 0);
  const scale = (p: (typeof parts)[number], blocks: number): number => Math.floor((blocks * p.v.frsize) / frsize);
  return {
    blocks: sum((p) => scale(p, p.v.blocks)),
    bfree: sum((p) => (p.ignoreFree ? 0 : scale(p, p.v.bfree))),
    bavail: sum((p) => (p.ignoreFree ? 0 : scale(p, p.v.bavail))),
    files: sum((p) => p.v.files),
    ffree: sum((p) => p.v.ffree),
    bsize: Math.min(...parts.map((p) => p.v.bsize)),
    // Overlay: 4 bytes short, so a `.wh.` whiteout always fits beside any name (§1.3).
    namelen: Math.min(...parts.map((p) => p.v.namemax)) - (ctx.layered ? 4 : 0),
    frsize,
  };
}

/**
 * Only sent when the mount lacks default_permissions (braidfs always sets
 * it), but answered correctly anyway from the mode bits of the branch the
 * access policy picks.
 */
export async function access(ctx: OpContext, req: Req<Opcode.ACCESS>): Promise<void> {
  const st = await (await search(ctx, 'access', ctx.inodes.get(req.h.nodeid))).st();
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
