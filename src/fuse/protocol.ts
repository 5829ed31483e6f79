// Pure translation between kernel bytes and typed requests/replies. No I/O.
import * as abi from './abi.js';
import { Opcode } from './abi.js';
import { decode, type Layout, type Struct, type FieldType } from './codec.js';

export interface Header {
  readonly unique: bigint;
  readonly opcode: number;
  readonly nodeid: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

export interface FileLock {
  start: number;
  end: number;
  type: number;
  pid: number;
}

type S<L> = L extends Layout<infer F extends Record<string, FieldType>> ? Struct<F> : never;

/** Request bodies by opcode. Names are raw bytes (never decoded). */
export interface RequestBodies {
  [Opcode.LOOKUP]: { name: Buffer };
  [Opcode.FORGET]: { nlookup: bigint };
  [Opcode.GETATTR]: S<typeof abi.GetattrIn>;
  [Opcode.SETATTR]: S<typeof abi.SetattrIn>;
  [Opcode.READLINK]: object;
  [Opcode.SYMLINK]: { name: Buffer; target: Buffer };
  [Opcode.MKNOD]: S<typeof abi.MknodIn> & { name: Buffer };
  [Opcode.MKDIR]: S<typeof abi.MkdirIn> & { name: Buffer };
  [Opcode.UNLINK]: { name: Buffer };
  [Opcode.RMDIR]: { name: Buffer };
  [Opcode.RENAME]: { newdir: bigint; flags: number; oldname: Buffer; newname: Buffer };
  [Opcode.RENAME2]: { newdir: bigint; flags: number; oldname: Buffer; newname: Buffer };
  [Opcode.LINK]: { oldnodeid: bigint; newname: Buffer };
  [Opcode.OPEN]: S<typeof abi.OpenIn>;
  [Opcode.READ]: S<typeof abi.ReadIn>;
  [Opcode.WRITE]: S<typeof abi.WriteIn> & { data: Buffer };
  [Opcode.STATFS]: object;
  [Opcode.RELEASE]: S<typeof abi.ReleaseIn>;
  [Opcode.FSYNC]: S<typeof abi.FsyncIn>;
  [Opcode.SETXATTR]: { size: number; flags: number; setxattrFlags: number; name: Buffer; value: Buffer };
  [Opcode.GETXATTR]: { size: number; name: Buffer };
  [Opcode.LISTXATTR]: { size: number };
  [Opcode.REMOVEXATTR]: { name: Buffer };
  [Opcode.FLUSH]: S<typeof abi.FlushIn>;
  [Opcode.OPENDIR]: S<typeof abi.OpenIn>;
  [Opcode.READDIR]: S<typeof abi.ReadIn>;
  [Opcode.READDIRPLUS]: S<typeof abi.ReadIn>;
  [Opcode.RELEASEDIR]: S<typeof abi.ReleaseIn>;
  [Opcode.FSYNCDIR]: S<typeof abi.FsyncIn>;
  [Opcode.GETLK]: { fh: bigint; owner: bigint; lk: FileLock; lkFlags: number };
  [Opcode.SETLK]: { fh: bigint; owner: bigint; lk: FileLock; lkFlags: number };
  [Opcode.SETLKW]: { fh: bigint; owner: bigint; lk: FileLock; lkFlags: number };
  [Opcode.ACCESS]: S<typeof abi.AccessIn>;
  [Opcode.CREATE]: S<typeof abi.CreateIn> & { name: Buffer };
  [Opcode.TMPFILE]: S<typeof abi.CreateIn> & { name: Buffer };
  [Opcode.IOCTL]: S<typeof abi.IoctlIn>;
  [Opcode.POLL]: S<typeof abi.PollIn>;
  [Opcode.FALLOCATE]: S<typeof abi.FallocateIn>;
  [Opcode.LSEEK]: S<typeof abi.LseekIn>;
  [Opcode.COPY_FILE_RANGE]: S<typeof abi.CopyFileRangeIn>;
  [Opcode.COPY_FILE_RANGE_64]: S<typeof abi.CopyFileRangeIn>;
  [Opcode.STATX]: S<typeof abi.StatxIn>;
  [Opcode.BMAP]: object;
  [Opcode.SYNCFS]: object;
}

export type HandledOpcode = keyof RequestBodies;
export type Req<O extends HandledOpcode> = { readonly op: O; readonly h: Header } & RequestBodies[O];
export type AnyReq = { [O in HandledOpcode]: Req<O> }[HandledOpcode];

export class ProtocolError extends Error {}

/** Splits NUL-terminated strings out of a request tail. */
function cstrings(buf: Buffer, at: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  let p = at;
  for (let i = 0; i < count; i++) {
    const z = buf.indexOf(0, p);
    if (z < 0) throw new ProtocolError('fuse: unterminated name in request');
    out.push(buf.subarray(p, z));
    p = z + 1;
  }
  return out;
}

const name1 = (buf: Buffer, at: number): Buffer => cstrings(buf, at, 1)[0]!;

export function decodeHeader(buf: Buffer): Header & { len: number; totalExtlen: number } {
  const h = decode(abi.InHeader, buf);
  return h;
}

function decodeLock(buf: Buffer, at: number): { fh: bigint; owner: bigint; lk: FileLock; lkFlags: number } {
  const lkIn = decode(abi.LkIn, buf, at);
  const lk = decode(abi.FileLock, buf, at + abi.LkIn.offsets.lk);
  return { fh: lkIn.fh, owner: lkIn.owner, lk, lkFlags: lkIn.lkFlags };
}

/**
 * Decodes a request body by opcode. Returns undefined for opcodes braidfs
 * does not model (dispatch answers those ENOSYS). `setxattrExt` says whether
 * SETXATTR carries the 16-byte header (FUSE_SETXATTR_EXT was negotiated).
 */
export function decodeBody(op: number, buf: Buffer, at: number, end: number, setxattrExt: boolean): RequestBodies[HandledOpcode] | undefined {
  const body = buf.subarray(0, end);
  switch (op as Opcode) {
    case Opcode.LOOKUP:
    case Opcode.UNLINK:
    case Opcode.RMDIR:
    case Opcode.REMOVEXATTR:
      return { name: name1(body, at) };
    case Opcode.FORGET:
      return decode(abi.ForgetIn, body, at);
    case Opcode.GETATTR:
      return decode(abi.GetattrIn, body, at);
    case Opcode.SETATTR:
      return decode(abi.SetattrIn, body, at);
    case Opcode.READLINK:
    case Opcode.STATFS:
    case Opcode.BMAP:
    case Opcode.SYNCFS:
      return {};
    case Opcode.SYMLINK: {
      const [name, target] = cstrings(body, at, 2);
      return { name: name!, target: target! };
    }
    case Opcode.MKNOD:
      return { ...decode(abi.MknodIn, body, at), name: name1(body, at + abi.MknodIn.size) };
    case Opcode.MKDIR:
      return { ...decode(abi.MkdirIn, body, at), name: name1(body, at + abi.MkdirIn.size) };
    case Opcode.RENAME: {
      const r = decode(abi.RenameIn, body, at);
      const [oldname, newname] = cstrings(body, at + abi.RenameIn.size, 2);
      return { newdir: r.newdir, flags: 0, oldname: oldname!, newname: newname! };
    }
    case Opcode.RENAME2: {
      const r = decode(abi.Rename2In, body, at);
      const [oldname, newname] = cstrings(body, at + abi.Rename2In.size, 2);
      return { newdir: r.newdir, flags: r.flags, oldname: oldname!, newname: newname! };
    }
    case Opcode.LINK:
      return { oldnodeid: decode(abi.LinkIn, body, at).oldnodeid, newname: name1(body, at + abi.LinkIn.size) };
    case Opcode.OPEN:
    case Opcode.OPENDIR:
      return decode(abi.OpenIn, body, at);
    case Opcode.READ:
    case Opcode.READDIR:
    case Opcode.READDIRPLUS:
      return decode(abi.ReadIn, body, at);
    case Opcode.WRITE: {
      const w = decode(abi.WriteIn, body, at);
      const start = at + abi.WriteIn.size;
      if (start + w.size > body.length) throw new ProtocolError('fuse: WRITE data truncated');
      return { ...w, data: body.subarray(start, start + w.size) };
    }
    case Opcode.RELEASE:
    case Opcode.RELEASEDIR:
      return decode(abi.ReleaseIn, body, at);
    case Opcode.FSYNC:
    case Opcode.FSYNCDIR:
      return decode(abi.FsyncIn, body, at);
    case Opcode.SETXATTR: {
      const layout = setxattrExt ? abi.SetxattrIn : abi.SetxattrInCompat;
      const x = decode(abi.SetxattrInCompat, body, at);
      const setxattrFlags = setxattrExt ? decode(abi.SetxattrIn, body, at).setxattrFlags : 0;
      const name = name1(body, at + layout.size);
      const vstart = at + layout.size + name.length + 1;
      if (vstart + x.size > body.length) throw new ProtocolError('fuse: SETXATTR value truncated');
      return { size: x.size, flags: x.flags, setxattrFlags, name, value: body.subarray(vstart, vstart + x.size) };
    }
    case Opcode.GETXATTR:
      return { size: decode(abi.GetxattrIn, body, at).size, name: name1(body, at + abi.GetxattrIn.size) };
    case Opcode.LISTXATTR:
      return { size: decode(abi.GetxattrIn, body, at).size };
    case Opcode.FLUSH:
      return decode(abi.FlushIn, body, at);
    case Opcode.GETLK:
    case Opcode.SETLK:
    case Opcode.SETLKW:
      return decodeLock(body, at);
    case Opcode.ACCESS:
      return decode(abi.AccessIn, body, at);
    case Opcode.CREATE:
    case Opcode.TMPFILE:
      return { ...decode(abi.CreateIn, body, at), name: name1(body, at + abi.CreateIn.size) };
    case Opcode.IOCTL:
      return decode(abi.IoctlIn, body, at);
    case Opcode.POLL:
      return decode(abi.PollIn, body, at);
    case Opcode.FALLOCATE:
      return decode(abi.FallocateIn, body, at);
    case Opcode.LSEEK:
      return decode(abi.LseekIn, body, at);
    case Opcode.COPY_FILE_RANGE:
    case Opcode.COPY_FILE_RANGE_64:
      return decode(abi.CopyFileRangeIn, body, at);
    case Opcode.STATX:
      return decode(abi.StatxIn, body, at);
    // Handled by the session itself, or never sent to a `fuse` mount.
    case Opcode.INIT:
    case Opcode.INTERRUPT:
    case Opcode.BATCH_FORGET:
    case Opcode.DESTROY:
    case Opcode.NOTIFY_REPLY:
    case Opcode.SETUPMAPPING:
    case Opcode.REMOVEMAPPING:
      return undefined;
    default:
      return undefined;
  }
}
