// RENAME and RENAME2 (NOREPLACE, EXCHANGE, WHITEOUT): one renameat2 on disk,
// then the same change in the node table.
import { RENAME_EXCHANGE, type Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import * as sys from '../sys/fs.js';
import { childRealPath, parentOf, type OpContext } from './context.js';

export async function rename(ctx: OpContext, req: Req<Opcode.RENAME> | Req<Opcode.RENAME2>): Promise<void> {
  const from = parentOf(ctx, req.h.nodeid);
  const to = parentOf(ctx, req.newdir);
  await sys.rename2(childRealPath(ctx, from, req.oldname), childRealPath(ctx, to, req.newname), req.flags);
  if (req.flags & RENAME_EXCHANGE) ctx.inodes.exchange(from, req.oldname, to, req.newname);
  else ctx.inodes.rename(from, req.oldname, to, req.newname);
}
