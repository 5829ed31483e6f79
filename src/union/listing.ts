// A directory handle's merged listing: cookies are indices into it.
//
// Two forms. An array of entries (overlay listings, slow branches, the
// root with its hidden names). Or, for the common pool case, the packed
// records the addon's readdirMergedSync returns, already deduplicated:
// an entry object (name view, inode number) is made only when the kernel
// reads that entry, so opening a 50,000-entry directory costs one pass over
// the bytes instead of an object, a hash and a Buffer view per name.
import type { Branch } from './branches.js';
import type { MergedEntry } from './handles.js';
import { writeListedIno, type InodeCalcMode } from './inodecalc.js';
import type { DirBuffer } from '../fuse/replies.js';

export interface Listing {
  readonly length: number;
  /** Byte length of entry i's name (to size a reply before building entries). */
  nameLength(i: number): number;
  entry(i: number): MergedEntry;
  /** Writes entries [from, end) as READDIR records, cookie = index + 1 (the caller sized `out` for them). */
  encode(out: DirBuffer, from: number, end: number): void;
}

export class ArrayListing implements Listing {
  constructor(private readonly entries: readonly MergedEntry[]) {}
  get length(): number {
    return this.entries.length;
  }
  nameLength(i: number): number {
    return this.entries[i]!.name.length;
  }
  entry(i: number): MergedEntry {
    return this.entries[i]!;
  }
  encode(out: DirBuffer, from: number, end: number): void {
    for (let i = from; i < end; i++) {
      const e = this.entries[i]!;
      if (!out.add(e.name, e.ino, e.type, i + 1)) return;
    }
  }
}

/** The st_ino shown for a listed name (inodecalc), from the branch's d_ino. */
export type ListedIno = (b: Branch, name: Buffer, type: number, ino: bigint) => bigint;

const RECORD_HEADER = 12;

const DT_DIR = 4;

export class PackedListing implements Listing {
  private readonly offsets: Uint32Array;

  /** `records`: [ino u64][type u8][branch index u8][name length u16][name], back to back. */
  constructor(
    private readonly records: Buffer,
    private readonly branches: readonly Branch[],
    private readonly inoOf: ListedIno,
    private readonly inodecalc: InodeCalcMode,
  ) {
    let n = 0;
    for (let p = 0; p + RECORD_HEADER <= records.length; p += RECORD_HEADER + records.readUInt16LE(p + 10)) n++;
    this.offsets = new Uint32Array(n);
    for (let i = 0, p = 0; i < n; i++, p += RECORD_HEADER + records.readUInt16LE(p + 10)) this.offsets[i] = p;
  }

  get length(): number {
    return this.offsets.length;
  }

  nameLength(i: number): number {
    return this.records.readUInt16LE(this.offsets[i]! + 10);
  }

  entry(i: number): MergedEntry {
    const p = this.offsets[i]!;
    const r = this.records;
    const name = r.subarray(p + RECORD_HEADER, p + RECORD_HEADER + r.readUInt16LE(p + 10));
    const branch = this.branches[r[p + 9]!]!;
    const type = r[p + 8]!;
    return { name, type, branch, ino: this.inoOf(branch, name, type, r.readBigUInt64LE(p)) };
  }

  /** Straight from the packed bytes: no entry object, Buffer view or BigInt unless the inode number needs the entry's path. */
  encode(out: DirBuffer, from: number, end: number): void {
    const r = this.records;
    for (let i = from; i < end; i++) {
      const p = this.offsets[i]!;
      const type = r[p + 8]!;
      const at = out.addRaw(r, p + RECORD_HEADER, r.readUInt16LE(p + 10), type, i + 1);
      if (at < 0) return;
      const branch = this.branches[r[p + 9]!]!;
      if (!writeListedIno(this.inodecalc, branch.root, type === DT_DIR, r, p, out.bytes, at)) out.bytes.writeBigUInt64LE(this.entry(i).ino, at);
    }
  }
}
