// Clearing suid/sgid when an unprivileged caller changes a file
// (HANDLE_KILLPRIV_V2, mergerfs's handle-killpriv-v2).
//
// Without V2 the kernel asks GETXATTR security.capability before every write
// to a FUSE file, passthrough writes included: one round trip per write(2).
// With V2 it marks the superblock SB_NOSEC, checks once per inode, and tells
// the daemon where suid/sgid must go:
// - WRITE with FUSE_WRITE_KILL_SUIDGID, OPEN/CREATE with
//   FUSE_OPEN_KILL_SUIDGID (O_TRUNC), SETATTR with FATTR_KILL_SUIDGID
//   (truncate, chown), all sent only for callers without CAP_FSETID;
// - a SETATTR with no attribute to set: the VFS's file_remove_privs() on the
//   FUSE inode, which passthrough writes and copy_file_range go through.
// The daemon must clear the bits itself: its own writes run as root, and a
// root write keeps suid. Capabilities need nothing: any write or truncate on
// the branch drops security.capability, whoever makes it.
import type { Header } from '../fuse/protocol.js';
import * as sys from '../sys/fs.js';
import type { Node } from '../union/inodes.js';
import { actOnBranches, callerInGroup, statNode, type OpContext } from './context.js';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_IXGRP = 0o0010;

/** Could `mode` carry a bit to clear? The cheap test before any work. */
export const hasSuidSgid = (mode: number): boolean => (mode & (S_ISUID | S_ISGID)) !== 0;

/**
 * The permission bits a plain filesystem would leave (the kernel's
 * setattr_should_drop_suidgid): suid always goes; sgid goes when the group
 * may execute, or else (a mandatory-locking mark) when the caller is not in
 * the file's group.
 */
export async function keptPerm(mode: number, fileGid: number, caller: Header): Promise<number> {
  let perm = mode & 0o7777 & ~S_ISUID;
  if (perm & S_ISGID && (perm & S_IXGRP || (caller.uid !== 0 && !(await callerInGroup(caller, fileGid))))) perm &= ~S_ISGID;
  return perm;
}

/** Sets the permission bits of a node on the branches the chmod policy picks (override xattr in rootless overlay). */
export async function applyPerm(ctx: OpContext, node: Node, fh: bigint | undefined, perm: number): Promise<void> {
  const override = ctx.layered?.override;
  if (override) {
    await actOnBranches(ctx, 'chmod', node, fh, async (at) => override.write(at.dir, at.path, { ...(await override.current(at.dir, at.path)), perm }));
  } else await actOnBranches(ctx, 'chmod', node, fh, (at) => sys.lchmod(at.dir, at.path, perm));
}

/** Clears suid/sgid of a regular file as the kernel would for `caller`; a no-op when neither is set. */
export async function killSuidSgid(ctx: OpContext, node: Node, fh: bigint | undefined, caller: Header): Promise<void> {
  const attr = await statNode(ctx, node, fh);
  if (!sys.isReg(attr.mode) || !hasSuidSgid(attr.mode)) return;
  const perm = await keptPerm(attr.mode, attr.gid, caller);
  if (perm === (attr.mode & 0o7777)) return;
  await applyPerm(ctx, node, fh, perm);
  // WRITE and OPEN replies carry no attributes: the kernel would show the old mode until its attribute timeout.
  ctx.kernel.attrsChanged(node.id);
}
