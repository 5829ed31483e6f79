// OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR.
//
// A handle holds the directory open (so it can still be listed and stat'ed
// after rmdir) and lists it at opendir, and again when the kernel rewinds to
// offset 0 after having read some. Cookies are positions in that listing, so
// they stay valid however the directory changes meanwhile. READDIRPLUS stats
// the entries of one reply in parallel and counts a lookup for each entry it
// hands out, as the kernel's FORGETs will expect.
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import { DirBuffer, type EntryReply, type OpenReply } from '../fuse/replies.js';
import * as sys from '../sys/fs.js';
import type { DirHandle } from '../union/handles.js';
import { entryFor, fileType, identity, locate, type OpContext } from './context.js';

export async function opendir(ctx: OpContext, req: Req<Opcode.OPENDIR>): Promise<OpenReply> {
  const node = ctx.inodes.get(req.h.nodeid);
  const at = locate(ctx, node);
  const fd = await sys.open(at.dir, at.path.length ? at.path : Buffer.from('.'), sys.O_RDONLY | sys.O_DIRECTORY | sys.O_NOFOLLOW);
  const h = ctx.handles.addDir(node, fd);
  try {
    h.entries = await sys.readdir(fd, sys.SELF);
  } catch (e) {
    ctx.handles.remove(h.fh);
    sys.closeQuietly(fd);
    throw e;
  }
  return { fh: h.fh, openFlags: 0, backingId: 0 };
}

async function listing(h: DirHandle, offset: number): Promise<sys.DirEntry[]> {
  if (!h.entries || (offset === 0 && h.served)) h.entries = await sys.readdir(h.fd, sys.SELF);
  h.served = true;
  return h.entries;
}

const isDot = (name: Buffer): boolean => name.length <= 2 && name[0] === 0x2e && (name.length === 1 || name[1] === 0x2e);

export async function readdir(ctx: OpContext, req: Req<Opcode.READDIR>): Promise<Buffer> {
  const h = ctx.handles.dir(req.fh);
  const entries = await listing(h, req.offset);
  const out = new DirBuffer(req.size, false);
  for (let i = req.offset; i < entries.length; i++) {
    const e = entries[i]!;
    if (!out.add(e.name, e.ino, e.type, i + 1)) break;
  }
  return out.result();
}

export async function readdirplus(ctx: OpContext, req: Req<Opcode.READDIRPLUS>): Promise<Buffer> {
  const h = ctx.handles.dir(req.fh);
  const entries = await listing(h, req.offset);
  const out = new DirBuffer(req.size, true);
  // Work out which entries fit first, so that no lookup is counted for an
  // entry that is then left out of the reply.
  let room = req.size;
  let end = req.offset;
  while (end < entries.length) {
    const rec = DirBuffer.recordSize(entries[end]!.name.length, true);
    if (rec > room) break;
    room -= rec;
    end++;
  }
  const batch = entries.slice(req.offset, end);
  const stats = await Promise.all(batch.map((e) => (isDot(e.name) ? Promise.resolve(undefined) : sys.lstat(h.fd, e.name).catch(() => undefined))));
  for (let k = 0; k < batch.length; k++) {
    const e = batch[k]!;
    const st = stats[k];
    let entry: EntryReply | undefined;
    // A directory that lost its name has children nobody can look up.
    if (st && (h.node.names.length > 0 || h.node === ctx.inodes.root)) {
      const node = ctx.inodes.remember(h.node, e.name, identity(st), fileType(st.mode));
      entry = entryFor(ctx, node, st);
    }
    // "." / ".." and entries that vanished go out with nodeid 0: no lookup.
    out.add(e.name, st ? st.ino : e.ino, st ? fileType(st.mode) >> 12 : e.type, req.offset + k + 1, entry);
  }
  return out.result();
}

export async function releasedir(ctx: OpContext, req: Req<Opcode.RELEASEDIR>): Promise<void> {
  const h = ctx.handles.remove(req.fh);
  if (h) sys.close(h.fd);
}

export async function fsyncdir(ctx: OpContext, req: Req<Opcode.FSYNCDIR>): Promise<void> {
  await sys.fsync(ctx.handles.dir(req.fh).fd);
}
