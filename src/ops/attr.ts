// GETATTR, SETATTR and STATX.
//
// SETATTR is four action functions in one request (chown, chmod, truncate,
// utimens): each runs on the branches its policy picks (epall: every branch
// holding the file), and mixed results are folded the mergerfs way, by the
// branch the getattr policy would report (preferSearch).
import * as abi from '../fuse/abi.js';
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import { statxOut, type FuseAttr } from '../fuse/replies.js';
import * as sys from '../sys/fs.js';
import { then, type MaybePromise } from '../../policies/maybe.js';
import { actOnBranches, relOf, search, shownStat, statNode, toAttr, type OpContext } from './context.js';
import { applyPerm, killSuidSgid } from './killpriv.js';

export function getattr(ctx: OpContext, req: Req<Opcode.GETATTR>): MaybePromise<{ attr: FuseAttr; valid: number }> {
  const node = ctx.inodes.get(req.h.nodeid);
  const fh = req.getattrFlags & abi.FUSE_GETATTR_FH ? req.fh : undefined;
  return then(statNode(ctx, node, fh), (attr) => ({ attr, valid: ctx.timeouts.attr }));
}

function time(valid: number, setBit: number, nowBit: number, sec: bigint, nsec: number): sys.TimeSpec {
  if (valid & nowBit) return { sec: 0, nsec: sys.UTIME_NOW };
  if (valid & setBit) return { sec: Number(sec), nsec };
  return { sec: 0, nsec: sys.UTIME_OMIT };
}

/**
 * Applies each requested change in the order a plain filesystem's
 * notify_change would: owner, mode, size, times. With FATTR_FH the open fd is
 * used, so ftruncate/fchmod work on files that have lost their name.
 */
export async function setattr(ctx: OpContext, req: Req<Opcode.SETATTR>): Promise<{ attr: FuseAttr; valid: number }> {
  const v = req.valid;
  const node = ctx.inodes.get(req.h.nodeid);
  const fh = v & abi.FATTR_FH ? req.fh : undefined;
  if (v & (abi.FATTR_UID | abi.FATTR_GID)) {
    let uid = v & abi.FATTR_UID ? req.uid : -1;
    let gid = v & abi.FATTR_GID ? req.gid : -1;
    // Overlay id mapping: store the inside ids; squash_*: accept and do nothing (fuse-overlayfs).
    const stored = ctx.layered && !ctx.layered.ids.identity ? ctx.layered.ids.store(uid, gid) : { uid, gid };
    const override = ctx.layered?.override;
    if (stored && override) {
      // xattr_permissions: the owner goes in the xattr, the file on disk keeps the daemon's.
      const s = stored;
      await actOnBranches(ctx, 'chown', node, fh, async (at) => {
        const cur = await override.current(at.dir, at.path);
        await override.write(at.dir, at.path, { ...cur, uid: s.uid === -1 ? cur.uid : s.uid, gid: s.gid === -1 ? cur.gid : s.gid });
      });
    } else if (stored) {
      ({ uid, gid } = stored);
      await actOnBranches(ctx, 'chown', node, fh, (at) => sys.lchown(at.dir, at.path, uid, gid));
    }
  }
  if (v & abi.FATTR_MODE) await applyPerm(ctx, node, fh, req.mode & 0o7777);
  if (v & abi.FATTR_SIZE) await actOnBranches(ctx, 'truncate', node, fh, (at) => sys.truncate(at.dir, at.path, req.size));
  // HANDLE_KILLPRIV_V2: an explicit request (truncate, chown), or a SETATTR
  // that sets nothing, which is the kernel's file_remove_privs() (killpriv.ts).
  if (v & abi.FATTR_KILL_SUIDGID || (v & ~(abi.FATTR_FH | abi.FATTR_LOCKOWNER)) === 0) await killSuidSgid(ctx, node, fh, req.h);
  if (v & (abi.FATTR_ATIME | abi.FATTR_MTIME | abi.FATTR_ATIME_NOW | abi.FATTR_MTIME_NOW)) {
    const atime = time(v, abi.FATTR_ATIME, abi.FATTR_ATIME_NOW, req.atime, req.atimensec);
    const mtime = time(v, abi.FATTR_MTIME, abi.FATTR_MTIME_NOW, req.mtime, req.mtimensec);
    await actOnBranches(ctx, 'utimens', node, fh, (at) => sys.lutimens(at.dir, at.path, atime, mtime));
  }
  return { attr: await statNode(ctx, node, fh), valid: ctx.timeouts.attr };
}

const STATX_BASIC_AND_BTIME = 0xfff;

export async function statx(ctx: OpContext, req: Req<Opcode.STATX>): Promise<Buffer> {
  const node = ctx.inodes.get(req.h.nodeid);
  const f = await search(ctx, 'getattr', node, req.getattrFlags & abi.FUSE_GETATTR_FH ? req.fh : undefined);
  const sx = await sys.statx(f.loc.dir, f.loc.path, STATX_BASIC_AND_BTIME);
  const st = { ...sx, ...(await shownStat(ctx, f.branch, f.loc, sx)) };
  // glibc's major/minor split of a dev_t
  const major = ((st.rdev >>> 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff);
  const minor = (st.rdev & 0xff) | ((st.rdev >>> 12) & ~0xff);
  return statxOut(toAttr(ctx, f.branch, relOf(ctx, node) ?? sys.SELF, st), ctx.timeouts.attr, major, minor, st.btime);
}
