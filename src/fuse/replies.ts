// Encoders for reply bodies and notifications. Pure: bytes out, no I/O.
// The hot structs (attr, entry) are written field by field at offsets that
// come from the asserted layouts in abi.ts.
import * as abi from './abi.js';
import { encode, writeU64 } from './codec.js';

/**
 * A zero-filled reply buffer. allocUnsafe takes small buffers from Node's
 * shared pool; Buffer.alloc would malloc a new backing store for every
 * reply, which the GC then has to sweep.
 */
const zeroed = (n: number): Buffer => Buffer.allocUnsafe(n).fill(0);
import type { Stat } from '../sys/fs.js';

/**
 * What the kernel is told about a file: a stat whose `ino` is the number to
 * show (the union layer may compute its own).
 */
export type FuseAttr = Omit<Stat, 'dev'>;

/** Cache lifetimes in seconds (fractions allowed). */
export interface Validity {
  entry: number;
  attr: number;
}

export interface EntryReply {
  nodeid: bigint; // 0n = negative entry cached for `valid.entry`
  generation: bigint;
  attr: FuseAttr | undefined;
  entryValid: number;
  attrValid: number;
}

export interface OpenReply {
  fh: bigint;
  openFlags: number;
  backingId: number;
}

export interface StatfsReply {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

const A = abi.Attr.offsets;

function secs(v: number): [number, number] {
  const s = Math.floor(v);
  const ns = Math.round((v - s) * 1e9);
  return ns >= 1e9 ? [s + 1, 0] : [s, ns];
}

/** Times before 1970 are negative; the kernel reads them as two's complement u64. */
function writeTime(buf: Buffer, sec: number, o: number): void {
  if (sec >= 0) writeU64(buf, sec, o);
  else buf.writeBigInt64LE(BigInt(sec), o);
}

export function writeAttr(buf: Buffer, at: number, a: FuseAttr): void {
  buf.writeBigUInt64LE(a.ino, at + A.ino);
  writeU64(buf, a.size, at + A.size);
  writeU64(buf, a.blocks, at + A.blocks);
  writeTime(buf, a.atimeSec, at + A.atime);
  writeTime(buf, a.mtimeSec, at + A.mtime);
  writeTime(buf, a.ctimeSec, at + A.ctime);
  buf.writeUInt32LE(a.atimeNsec, at + A.atimensec);
  buf.writeUInt32LE(a.mtimeNsec, at + A.mtimensec);
  buf.writeUInt32LE(a.ctimeNsec, at + A.ctimensec);
  buf.writeUInt32LE(a.mode >>> 0, at + A.mode);
  buf.writeUInt32LE(a.nlink >>> 0, at + A.nlink);
  buf.writeUInt32LE(a.uid >>> 0, at + A.uid);
  buf.writeUInt32LE(a.gid >>> 0, at + A.gid);
  buf.writeUInt32LE(a.rdev >>> 0, at + A.rdev);
  buf.writeUInt32LE(a.blksize >>> 0, at + A.blksize);
}

export function writeEntry(buf: Buffer, at: number, e: EntryReply): void {
  const O = abi.EntryOut.offsets;
  buf.writeBigUInt64LE(e.nodeid, at + O.nodeid);
  buf.writeBigUInt64LE(e.generation, at + O.generation);
  const [es, ens] = secs(e.entryValid);
  const [as, ans] = secs(e.attrValid);
  writeU64(buf, es, at + O.entryValid);
  writeU64(buf, as, at + O.attrValid);
  buf.writeUInt32LE(ens, at + O.entryValidNsec);
  buf.writeUInt32LE(ans, at + O.attrValidNsec);
  if (e.attr) writeAttr(buf, at + abi.ENTRY_OUT_ATTR_OFFSET, e.attr);
}

export function entryOut(e: EntryReply): Buffer {
  const buf = zeroed(abi.EntryOut.size);
  writeEntry(buf, 0, e);
  return buf;
}

export function attrOut(attr: FuseAttr, valid: number): Buffer {
  const buf = zeroed(abi.AttrOut.size);
  const [s, ns] = secs(valid);
  encode(abi.AttrOut, { attrValid: s, attrValidNsec: ns }, buf);
  writeAttr(buf, abi.ATTR_OUT_ATTR_OFFSET, attr);
  return buf;
}

export function openOut(o: OpenReply): Buffer {
  const buf = zeroed(abi.OpenOut.size);
  encode(abi.OpenOut, o, buf);
  return buf;
}

export function createOut(e: EntryReply, o: OpenReply): Buffer {
  return Buffer.concat([entryOut(e), openOut(o)]);
}

export function writeOut(size: number): Buffer {
  const buf = zeroed(abi.WriteOut.size);
  buf.writeUInt32LE(size, 0);
  return buf;
}

export function u64Out(v: number): Buffer {
  const buf = zeroed(8);
  writeU64(buf, v, 0);
  return buf;
}

export function statfsOut(s: StatfsReply): Buffer {
  const buf = zeroed(abi.StatfsOut.size);
  encode(abi.StatfsOut, s, buf);
  return buf;
}

export function getxattrSizeOut(size: number): Buffer {
  const buf = zeroed(abi.GetxattrOut.size);
  buf.writeUInt32LE(size, 0);
  return buf;
}

const OFFSET_MAX = 0x7fffffffffffffffn;
/** Lock offsets travel as JS numbers; 2^63-1 ("to EOF") rounds up to 2^63, which the kernel rejects, so clamp. */
const lockOffset = (v: number): bigint => (v >= 2 ** 63 ? OFFSET_MAX : BigInt(Math.max(0, Math.trunc(v))));

export function lkOut(lk: { start: number; end: number; type: number; pid: number }): Buffer {
  const buf = zeroed(abi.FileLock.size);
  buf.writeBigUInt64LE(lockOffset(lk.start), abi.FileLock.offsets.start);
  buf.writeBigUInt64LE(lockOffset(lk.end), abi.FileLock.offsets.end);
  buf.writeUInt32LE(lk.type, abi.FileLock.offsets.type);
  buf.writeUInt32LE(lk.pid, abi.FileLock.offsets.pid);
  return buf;
}

export function statxOut(a: FuseAttr, valid: number, rdevMajor: number, rdevMinor: number, btime?: { sec: number; nsec: number }): Buffer {
  const buf = zeroed(abi.StatxOut.size);
  const [s, ns] = secs(valid);
  encode(abi.StatxOut, { attrValid: s, attrValidNsec: ns }, buf);
  const at = abi.StatxOut.offsets.stat;
  const X = abi.Statx.offsets;
  // STATX_BASIC_STATS (0x7ff) plus STATX_BTIME (0x800) when we have it.
  const mask = 0x7ff | (btime ? 0x800 : 0);
  encode(
    abi.Statx,
    { mask, blksize: a.blksize, nlink: a.nlink, uid: a.uid, gid: a.gid, mode: a.mode & 0xffff, ino: a.ino, size: a.size, blocks: a.blocks, rdevMajor, rdevMinor },
    buf,
    at,
  );
  const t = (o: number, sec: number, nsec: number): void => {
    buf.writeBigInt64LE(BigInt(sec), at + o);
    buf.writeUInt32LE(nsec, at + o + 8);
  };
  t(X.atime, a.atimeSec, a.atimeNsec);
  t(X.mtime, a.mtimeSec, a.mtimeNsec);
  t(X.ctime, a.ctimeSec, a.ctimeNsec);
  if (btime) t(X.btime, btime.sec, btime.nsec);
  return buf;
}

// --- directory listings -----------------------------------------------------

/**
 * Packs fuse_dirent / fuse_direntplus records into a buffer of at most
 * `size` bytes. add() returns false once the next record would not fit, so
 * the caller stops and the kernel asks again from that cookie.
 */
export class DirBuffer {
  private readonly buf: Buffer;
  private len = 0;
  constructor(size: number, private readonly plus: boolean) {
    this.buf = zeroed(size);
  }

  static recordSize(nameLen: number, plus: boolean): number {
    return ((plus ? abi.EntryOut.size : 0) + abi.Dirent.size + nameLen + 7) & ~7;
  }

  /** `off` is the cookie of the entry after this one; false when the record does not fit. */
  add(name: Buffer, ino: bigint, type: number, off: number, entry?: EntryReply): boolean {
    const rec = DirBuffer.recordSize(name.length, this.plus);
    if (this.len + rec > this.buf.length) return false;
    // In a READDIRPLUS reply without `entry` the entry part stays zero (nodeid 0: attributes not given).
    if (entry) writeEntry(this.buf, this.len, entry);
    const at = this.len + (this.plus ? abi.EntryOut.size : 0);
    this.buf.writeBigUInt64LE(ino, at);
    writeU64(this.buf, off, at + 8);
    this.buf.writeUInt32LE(name.length, at + 16);
    this.buf.writeUInt32LE(type, at + 20);
    name.copy(this.buf, at + abi.Dirent.size);
    this.len += rec;
    return true;
  }

  /** Would a record for this name still fit? (Checked before a lookup is counted.) */
  fits(nameLen: number): boolean {
    return this.len + DirBuffer.recordSize(nameLen, this.plus) <= this.buf.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

// --- notifications ---------------------------------------------------------------

export function notifyInvalInode(ino: bigint, off: number, len: number): Buffer {
  const buf = zeroed(abi.NotifyInvalInodeOut.size);
  encode(abi.NotifyInvalInodeOut, { ino, off: BigInt(off), len: BigInt(len) }, buf);
  return buf;
}

/** The name must be followed by a counted NUL, or the kernel answers EINVAL. */
export function notifyInvalEntry(parent: bigint, name: Buffer, expireOnly: boolean): Buffer {
  const buf = zeroed(abi.NotifyInvalEntryOut.size + name.length + 1);
  encode(abi.NotifyInvalEntryOut, { parent, namelen: name.length, flags: expireOnly ? 1 : 0 }, buf);
  name.copy(buf, abi.NotifyInvalEntryOut.size);
  return buf;
}

export function notifyDelete(parent: bigint, child: bigint, name: Buffer): Buffer {
  const buf = zeroed(abi.NotifyDeleteOut.size + name.length + 1);
  encode(abi.NotifyDeleteOut, { parent, child, namelen: name.length }, buf);
  name.copy(buf, abi.NotifyDeleteOut.size);
  return buf;
}
