// LOOKUP and FORGET: how the kernel learns and lets go of nodes; READLINK.
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import type { EntryReply } from '../fuse/replies.js';
import { Errno, ErrnoAnswer, FsError, knownErrno } from '../sys/errno.js';
import { isRefusal, PolicyError, type Refusal } from '../../policies/types.js';
import type { Node } from '../union/inodes.js';
import type { Branch } from '../union/branches.js';
import { isReservedName } from '../union/whiteout.js';
import { SCRATCH_NAME } from '../union/scratch.js';
import * as sys from '../sys/fs.js';
import { isPromise, then, type MaybePromise } from '../../policies/maybe.js';
import { branchLoc, entryFor, parentOf, remember, search, shownStat, statNode, type OpContext } from './context.js';

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

const NO_SUCH_ENTRY = new ErrnoAnswer(Errno.ENOENT);

/** No branch has the name: a negative entry or ENOENT, returned rather than thrown; other refusals as errors. */
function refused(ctx: OpContext, why: Refusal): EntryReply | ErrnoAnswer {
  if (why !== 'ENOENT') throw new PolicyError(why);
  return ctx.timeouts.negative > 0 ? negativeEntry(ctx) : NO_SUCH_ENTRY;
}

const negativeEntry = (ctx: OpContext): EntryReply => ({ nodeid: 0n, generation: 0n, attr: undefined, entryValid: ctx.timeouts.negative, attrValid: 0 });

export function lookup(ctx: OpContext, req: Req<Opcode.LOOKUP>): MaybePromise<EntryReply | ErrnoAnswer> {
  const parent = parentOf(ctx, req.h.nodeid);
  // "." and ".." arrive only for NFS-export reconnects (EXPORT_SUPPORT).
  if (req.name.equals(DOT) || req.name.equals(DOTDOT)) {
    const target = req.name.equals(DOT) ? parent : (parent.names[0]?.parent ?? ctx.inodes.root);
    target.nlookup++;
    return then(statNode(ctx, target), (attr) => entryFor(ctx, target, attr));
  }
  const rel = ctx.inodes.childPath(parent, req.name);
  let answer: MaybePromise<EntryReply | ErrnoAnswer>;
  try {
    if (ctx.layered) answer = lookupLayered(ctx, parent, req.name, rel);
    // The name is found where the getattr policy looks (ff: the first branch that has it).
    else
      answer = then(ctx.pool.trySelect('getattr', rel), (sel) =>
        isRefusal(sel) ? refused(ctx, sel) : then(sel.stat(sel.first), (st) => found(ctx, parent, req.name, sel.first, rel, st)),
      );
  } catch (e) {
    return negativeOrThrow(ctx, e);
  }
  return isPromise(answer) ? answer.catch((e: unknown) => negativeOrThrow(ctx, e)) : answer;
}

/** The kernel learns parent/name: counted for readdirplus=auto (a looked-up file says listings should carry attributes), then remembered. */
function found(ctx: OpContext, parent: Node, name: Buffer, b: Branch, rel: Buffer, st: sys.Stat): EntryReply {
  if (!sys.isDir(st.mode)) ctx.plusAdvisor.lookedUp(parent.id);
  return remember(ctx, parent, name, b, rel, st);
}

/** ENOENT as a negative entry the kernel may cache, when the user asked for that (cache.negative-entry); other errors as they are. */
function negativeOrThrow(ctx: OpContext, e: unknown): EntryReply {
  if (knownErrno(e) === Errno.ENOENT && ctx.timeouts.negative > 0) return negativeEntry(ctx);
  throw e;
}

/** Overlay lookup: the top layer showing the name; `.wh.*` names and the scratch directory never exist. */
async function lookupLayered(ctx: OpContext, parent: Node, name: Buffer, rel: Buffer): Promise<EntryReply> {
  if (isReservedName(name) || (parent === ctx.inodes.root && name.equals(SCRATCH_NAME))) throw new FsError(Errno.ENOENT, 'lookup', rel);
  const top = (await ctx.layered!.layers.resolve(rel))[0];
  if (!top) throw new FsError(Errno.ENOENT, 'lookup', rel);
  const loc = branchLoc(top.branch, top.rel);
  const st = await shownStat(ctx, top.branch, loc, await sys.lstat(loc.dir, loc.path));
  return found(ctx, parent, name, top.branch, rel, st);
}

export function forget(ctx: OpContext, items: ReadonlyArray<readonly [bigint, bigint]>): void {
  for (const [id, n] of items) {
    ctx.inodes.forget(id, Number(n));
    // A node that is gone holds no locks any more.
    if (!ctx.inodes.has(id)) {
      ctx.locks.dropNode(id);
      ctx.pageCache.forget(id);
    }
  }
}

export async function readlink(ctx: OpContext, req: Req<Opcode.READLINK>): Promise<Buffer> {
  const f = await search(ctx, 'readlink', ctx.inodes.get(req.h.nodeid));
  return sys.readlink(f.loc.dir, f.loc.path);
}
