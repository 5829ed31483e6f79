// OpContext: everything an op handler may use, passed explicitly (no globals),
// plus the small helpers every op shares: real paths, stat → attr, entries,
// and ownership of files created on a caller's behalf.
import { readFile } from 'node:fs/promises';
import type { Header } from '../fuse/protocol.js';
import type { EntryReply, FuseAttr } from '../fuse/replies.js';
import { Errno, FsError } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Stat } from '../sys/fs.js';
import type { Logger } from '../sys/log.js';
import type { HandleTable } from '../union/handles.js';
import type { InodeTable, Node } from '../union/inodes.js';
import type { LockTable } from '../union/locks.js';
import type { PassthroughTable } from '../union/passthrough.js';

export interface Timeouts {
  /** Seconds the kernel may cache a name → node. */
  entry: number;
  /** Seconds the kernel may cache attributes. */
  attr: number;
  /** Seconds the kernel may cache "no such name" (0: not at all). */
  negative: number;
}

export interface OpContext {
  /** Absolute path of the source directory. */
  readonly root: Buffer;
  readonly inodes: InodeTable;
  readonly handles: HandleTable;
  readonly locks: LockTable;
  readonly passthrough: PassthroughTable;
  /** Which opens use passthrough (mergerfs's passthrough.io). */
  readonly passthroughIo: 'off' | 'ro' | 'wo' | 'rw';
  readonly timeouts: Timeouts;
  readonly log: Logger;
  /** The daemon's own gid: what a file created by the daemon gets without setgid inheritance. */
  readonly daemonGid: number;
}

export const identity = (st: Stat): string => `${st.dev}:${st.ino}`;
export const fileType = (mode: number): number => mode & sys.S_IFMT;

export function realPath(ctx: OpContext, rel: Buffer): Buffer {
  return sys.joinPath(ctx.root, rel);
}

export function nodePath(ctx: OpContext, node: Node): Buffer {
  return realPath(ctx, ctx.inodes.path(node));
}

export function childRealPath(ctx: OpContext, parent: Node, name: Buffer): Buffer {
  return realPath(ctx, ctx.inodes.childPath(parent, name));
}

export function toAttr(st: Stat): FuseAttr {
  return {
    ino: st.ino,
    size: st.size,
    blocks: st.blocks,
    atimeSec: st.atimeSec,
    atimeNsec: st.atimeNsec,
    mtimeSec: st.mtimeSec,
    mtimeNsec: st.mtimeNsec,
    ctimeSec: st.ctimeSec,
    ctimeNsec: st.ctimeNsec,
    mode: st.mode,
    nlink: st.nlink,
    uid: st.uid,
    gid: st.gid,
    rdev: st.rdev,
    blksize: st.blksize,
  };
}

export function entryFor(ctx: OpContext, node: Node, st: Stat): EntryReply {
  return { nodeid: node.id, generation: 0n, attr: toAttr(st), entryValid: ctx.timeouts.entry, attrValid: ctx.timeouts.attr };
}

/** Stats a node by name, or through an open fd when it has no name left. */
export async function statNode(ctx: OpContext, node: Node, fh?: bigint): Promise<Stat> {
  if (fh !== undefined) return sys.fstat(ctx.handles.file(fh).fd);
  if (node.names.length === 0 && node !== ctx.inodes.root) {
    const open = ctx.handles.anyOpen(node);
    if (open) return sys.fstat(open.fd);
    throw new FsError(Errno.ENOENT, 'stat');
  }
  return sys.lstat(nodePath(ctx, node));
}

/** Looks up parent/name on disk and counts a kernel reference to it. */
export async function rememberChild(ctx: OpContext, parent: Node, name: Buffer, real: Buffer): Promise<EntryReply> {
  const st = await sys.lstat(real);
  const node = ctx.inodes.remember(parent, name, identity(st), fileType(st.mode));
  return entryFor(ctx, node, st);
}

/** Is `gid` among the caller's groups? Read from /proc, only when it matters. */
async function callerInGroup(h: Header, gid: number): Promise<boolean> {
  if (h.gid === gid) return true;
  try {
    const status = await readFile(`/proc/${h.pid}/status`, 'latin1');
    const line = /^Groups:\s*(.*)$/m.exec(status)?.[1] ?? '';
    return line.split(/\s+/).filter(Boolean).map(Number).includes(gid);
  } catch {
    return false;
  }
}

/**
 * Gives a file the daemon (root) just created to the caller, as a plain
 * filesystem would have: owner = caller, group = caller's, or the parent's
 * when the parent is setgid. chown clears suid/sgid on regular files, so
 * those bits are put back, except sgid for a group the caller isn't in.
 */
export async function giveToCaller(ctx: OpContext, h: Header, real: Buffer, parentReal: Buffer, mode: number, st: Stat, fd?: number): Promise<Stat> {
  let gid = h.gid;
  if (st.gid !== ctx.daemonGid) gid = st.gid; // setgid inheritance already happened
  else if (h.gid !== ctx.daemonGid) {
    const parent = await sys.lstat(parentReal);
    if (parent.mode & 0o2000) gid = parent.gid;
  }
  if (st.uid === h.uid && st.gid === gid) return st;
  if (fd !== undefined) await sys.fchown(fd, h.uid, gid);
  else await sys.lchown(real, h.uid, gid);
  const special = mode & 0o6000;
  if (special && sys.isReg(st.mode)) {
    let keep = special;
    if (keep & 0o2000 && h.uid !== 0 && !(await callerInGroup(h, gid))) keep &= ~0o2000;
    const perms = (mode & 0o777) | keep | (st.mode & 0o1000);
    if (fd !== undefined) await sys.fchmod(fd, perms);
    else await sys.lchmod(real, perms);
  }
  return fd !== undefined ? sys.fstat(fd) : sys.lstat(real);
}

export function parentOf(ctx: OpContext, id: bigint): Node {
  const n = ctx.inodes.get(id);
  if (fileType(n.type) !== sys.S_IFDIR) throw new FsError(Errno.ENOTDIR, 'parent');
  return n;
}
