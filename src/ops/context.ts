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
  /** The source directory, opened O_PATH: every path is relative to it. */
  readonly rootFd: number;
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

/** Where a node is on disk: a directory fd and a path relative to it (empty: the fd itself). */
export interface Loc {
  readonly dir: number;
  readonly path: Buffer;
}

const DOT = Buffer.from('.');

/**
 * Locates a node: through the fd of handle `fh` when given, by name under the
 * root, or through any open fd when it has no name left (unlinked but open).
 */
export function locate(ctx: OpContext, node: Node, fh?: bigint): Loc {
  if (fh !== undefined) return { dir: ctx.handles.file(fh).fd, path: sys.SELF };
  if (node === ctx.inodes.root) return { dir: ctx.rootFd, path: DOT };
  if (node.names.length === 0) {
    const open = ctx.handles.anyOpen(node);
    if (open) return { dir: open.fd, path: sys.SELF };
    throw new FsError(Errno.ENOENT, 'locate');
  }
  return { dir: ctx.rootFd, path: ctx.inodes.path(node) };
}

export function childLoc(ctx: OpContext, parent: Node, name: Buffer): Loc {
  return { dir: ctx.rootFd, path: ctx.inodes.childPath(parent, name) };
}

/** The loopback shows the backing file's own attributes, inode number included. */
export function toAttr(st: Stat): FuseAttr {
  return st;
}

export function entryFor(ctx: OpContext, node: Node, st: Stat): EntryReply {
  return { nodeid: node.id, generation: 0n, attr: toAttr(st), entryValid: ctx.timeouts.entry, attrValid: ctx.timeouts.attr };
}

/** Stats a node by name, or through an open fd when it has no name left. */
export async function statNode(ctx: OpContext, node: Node, fh?: bigint): Promise<Stat> {
  const at = locate(ctx, node, fh);
  return sys.lstat(at.dir, at.path);
}

/** Looks up parent/name on disk and counts a kernel reference to it. */
export async function rememberChild(ctx: OpContext, parent: Node, name: Buffer): Promise<EntryReply> {
  const at = childLoc(ctx, parent, name);
  const st = await sys.lstat(at.dir, at.path);
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
export async function giveToCaller(ctx: OpContext, h: Header, at: Loc, parent: Loc, mode: number, st: Stat): Promise<Stat> {
  let gid = h.gid;
  if (st.gid !== ctx.daemonGid) gid = st.gid; // setgid inheritance already happened
  else if (h.gid !== ctx.daemonGid) {
    const p = await sys.lstat(parent.dir, parent.path);
    if (p.mode & 0o2000) gid = p.gid;
  }
  if (st.uid === h.uid && st.gid === gid) return st;
  await sys.lchown(at.dir, at.path, h.uid, gid);
  const special = mode & 0o6000;
  if (special && sys.isReg(st.mode)) {
    let keep = special;
    if (keep & 0o2000 && h.uid !== 0 && !(await callerInGroup(h, gid))) keep &= ~0o2000;
    await sys.lchmod(at.dir, at.path, (mode & 0o777) | keep | (st.mode & 0o1000));
  }
  return sys.lstat(at.dir, at.path);
}

export function parentOf(ctx: OpContext, id: bigint): Node {
  const n = ctx.inodes.get(id);
  if (fileType(n.type) !== sys.S_IFDIR) throw new FsError(Errno.ENOTDIR, 'parent');
  return n;
}
