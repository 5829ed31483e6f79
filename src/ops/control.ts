// The runtime control file, `/.braidfs` (mergerfs's `/.mergerfs`): a hidden
// regular file at the root whose xattrs are the options, as
// `user.braidfs.<option>`. getxattr reads an option, setxattr changes it at
// once (a mount-only one answers EROFS), listxattr lists them. It is not a
// file on any branch and is never listed by readdir.
//
// Any path also answers the read-only keys user.braidfs.basepath, relpath,
// fullpath and allpaths (where the file is on the branches), as mergerfs's
// tools expect; they are not listed.
import type { Header } from '../fuse/protocol.js';
import { statxOut, type EntryReply, type FuseAttr } from '../fuse/replies.js';
import { Errno, FsError } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Node } from '../union/inodes.js';
import { relOf, search, type OpContext } from './context.js';

export const CONTROL_NAME = Buffer.from('.braidfs');
const PREFIX = 'user.braidfs.';
const CONTROL_KEY = 'braidfs:control';

/** What the control file reads and writes: the option store. */
export interface ControlStore {
  get(name: string): string;
  /** Throws FsError: EROFS for a mount-only option, EINVAL for a bad value, ENODATA for an unknown one. */
  set(name: string, value: string): void;
  list(): readonly string[];
}

export const isControl = (node: Node): boolean => node.key === CONTROL_KEY;

function controlAttr(ctx: OpContext): FuseAttr {
  const now = Math.floor(Date.now() / 1000);
  return {
    ino: 0xffffffffn,
    size: 0,
    blocks: 0,
    atimeSec: now,
    atimeNsec: 0,
    mtimeSec: now,
    mtimeNsec: 0,
    ctimeSec: now,
    ctimeNsec: 0,
    mode: sys.S_IFREG | 0o664,
    nlink: 1,
    uid: process.getuid?.() ?? 0,
    gid: ctx.daemonGid,
    rdev: 0,
    blksize: 4096,
  };
}

export function lookupControl(ctx: OpContext): EntryReply {
  const node = ctx.inodes.remember(ctx.inodes.root, CONTROL_NAME, CONTROL_KEY, sys.S_IFREG);
  // Never cached: what it holds changes with every set.
  return { nodeid: node.id, generation: 0n, attr: controlAttr(ctx), entryValid: 0, attrValid: 0 };
}

export function controlGetattr(ctx: OpContext): { attr: FuseAttr; valid: number } {
  return { attr: controlAttr(ctx), valid: 0 };
}

export function controlStatx(ctx: OpContext): Buffer {
  return statxOut(controlAttr(ctx), 0, 0, 0);
}

function optionName(xattr: Buffer): string | undefined {
  const s = xattr.toString('utf8');
  return s.startsWith(PREFIX) ? s.slice(PREFIX.length) : undefined;
}

function sized(value: Buffer, size: number): Buffer | number {
  if (size === 0) return value.length;
  if (value.length > size) throw new FsError(Errno.ERANGE, 'getxattr');
  return value;
}

export function controlGetxattr(store: ControlStore, name: Buffer, size: number): Buffer | number {
  const opt = optionName(name);
  if (opt === undefined) throw new FsError(Errno.ENODATA, 'getxattr');
  return sized(Buffer.from(store.get(opt)), size);
}

export function controlSetxattr(store: ControlStore, h: Header, name: Buffer, value: Buffer): void {
  const opt = optionName(name);
  if (opt === undefined) throw new FsError(Errno.ENOTSUP, 'setxattr');
  // The kernel lets anyone who may write the file get here; options are root's.
  if (h.uid !== 0) throw new FsError(Errno.EPERM, 'setxattr');
  store.set(opt, value.toString('utf8'));
}

export function controlListxattr(store: ControlStore, size: number): Buffer | number {
  return sized(Buffer.concat(store.list().map((n) => Buffer.from(`${PREFIX}${n}\0`))), size);
}

/** user.braidfs.basepath|relpath|fullpath|allpaths of any path, or undefined for other names. */
export async function pathInfo(ctx: OpContext, node: Node, name: Buffer, size: number): Promise<Buffer | number | undefined> {
  const key = optionName(name);
  if (key !== 'basepath' && key !== 'relpath' && key !== 'fullpath' && key !== 'allpaths') return undefined;
  const rel = relOf(ctx, node);
  if (rel === undefined) throw new FsError(Errno.ENOENT, 'getxattr');
  const full = (root: string): Buffer => (rel.length ? Buffer.concat([Buffer.from(root), Buffer.from('/'), rel]) : Buffer.from(root));
  if (key === 'relpath') return sized(Buffer.concat([Buffer.from('/'), rel]), size);
  if (key === 'allpaths') {
    const all = await ctx.pool.everywhere(rel.length ? rel : Buffer.from('.'));
    return sized(Buffer.concat(all.flatMap((f) => [full(f.branch.root), Buffer.from([0])])), size);
  }
  const f = await search(ctx, 'getxattr', node);
  return sized(key === 'basepath' ? Buffer.from(f.branch.root) : full(f.branch.root), size);
}
