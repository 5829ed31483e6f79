// SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR, by path and without following
// symlinks (the kernel already resolved them), or through an open fd for a
// file that has lost its name.
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import * as sys from '../sys/fs.js';
import type { Node } from '../union/inodes.js';
import { nodePath, type OpContext } from './context.js';

type Target = { fd: number } | { path: Buffer };

function target(ctx: OpContext, node: Node): Target {
  if (node.names.length === 0 && node !== ctx.inodes.root) {
    const open = ctx.handles.anyOpen(node);
    if (open) return { fd: open.fd };
  }
  return { path: nodePath(ctx, node) };
}

export async function setxattr(ctx: OpContext, req: Req<Opcode.SETXATTR>): Promise<void> {
  const t = target(ctx, ctx.inodes.get(req.h.nodeid));
  if ('fd' in t) await sys.fsetxattr(t.fd, req.name, req.value, req.flags);
  else await sys.lsetxattr(t.path, req.name, req.value, req.flags);
}

export async function getxattr(ctx: OpContext, req: Req<Opcode.GETXATTR>): Promise<Buffer | number> {
  const t = target(ctx, ctx.inodes.get(req.h.nodeid));
  return 'fd' in t ? sys.fgetxattr(t.fd, req.name, req.size) : sys.lgetxattr(t.path, req.name, req.size);
}

export async function listxattr(ctx: OpContext, req: Req<Opcode.LISTXATTR>): Promise<Buffer | number> {
  const t = target(ctx, ctx.inodes.get(req.h.nodeid));
  return 'fd' in t ? sys.flistxattr(t.fd, req.size) : sys.llistxattr(t.path, req.size);
}

export async function removexattr(ctx: OpContext, req: Req<Opcode.REMOVEXATTR>): Promise<void> {
  const t = target(ctx, ctx.inodes.get(req.h.nodeid));
  if ('fd' in t) await sys.fremovexattr(t.fd, req.name);
  else await sys.lremovexattr(t.path, req.name);
}
