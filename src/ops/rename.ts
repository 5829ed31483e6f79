// RENAME and RENAME2 (NOREPLACE, EXCHANGE, WHITEOUT): one renameat2 on disk,
// then the same change in the node table.
import { RENAME_EXCHANGE, type Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import * as sys from '../sys/fs.js';
import { childLoc, parentOf, type OpContext } from './context.js';

export async function rename(ctx: OpContext, req: Req<Opcode.RENAME> | Req<Opcode.RENAME2>): Promise<void> {
  const from = parentOf(ctx, req.h.nodeid);
  const to = parentOf(ctx, req.newdir);
  const a = childLoc(ctx, from, req.oldname);
  const b = childLoc(ctx, to, req.newname);
  await sys.rename2(a.dir, a.path, b.dir, b.path, req.flags);
  if (req.flags & RENAME_EXCHANGE) ctx.inodes.exchange(from, req.oldname, to, req.newname);
  else ctx.inodes.rename(from, req.oldname, to, req.newname);
}
