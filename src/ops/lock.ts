// GETLK, SETLK, SETLKW: POSIX record locks and flock(2), kept by the daemon
// (see union/locks.ts for why). flock arrives as SETLK(W) with FUSE_LK_FLOCK.
import { FUSE_LK_FLOCK, type Opcode } from '../fuse/abi.js';
import type { FileLock, Req } from '../fuse/protocol.js';
import type { OpContext } from './context.js';

export async function getlk(ctx: OpContext, req: Req<Opcode.GETLK>): Promise<FileLock> {
  ctx.handles.file(req.fh);
  return ctx.locks.getlk(req.h.nodeid, req.owner, req.lk.type, { start: req.lk.start, end: req.lk.end }, req.lk.pid);
}

export async function setlk(ctx: OpContext, req: Req<Opcode.SETLK> | Req<Opcode.SETLKW>, wait: boolean, signal: AbortSignal): Promise<void> {
  ctx.handles.file(req.fh);
  if (req.lkFlags & FUSE_LK_FLOCK) {
    await ctx.locks.flock(req.h.nodeid, req.owner, req.lk.type, wait, signal);
    return;
  }
  await ctx.locks.setlk(req.h.nodeid, req.owner, req.lk.type, { start: req.lk.start, end: req.lk.end }, req.lk.pid, wait, signal);
}
