// A directory handle's merged listing: cookies are indices into it.
//
// Two forms. An array of entries (overlay listings, slow branches, the
// root with its hidden names). Or, for the common pool case, the READDIR
// records the addon's readdirMergedSync returns, already deduplicated and
// numbered: a READDIR reply is a slice of those bytes, and an entry object
// (name view, inode number) is made only when READDIRPLUS reads that entry.
// So opening and listing a 50,000-entry directory costs no JS per name.
import type { Branch } from './branches.js';
import type { MergedEntry } from './handles.js';
import { DirBuffer } from '../fuse/replies.js';

export interface Listing {
  readonly length: number;
  /** Byte length of entry i's name (to size a reply before building entries). */
  nameLength(i: number): number;
  entry(i: number): MergedEntry;
  /** Entry i's d_type (DT_*). */
  type(i: number): number;
  /** The READDIR reply for entries [from, end), cookie = index + 1; `bytes` is their size (DirBuffer.recordSize). */
  readdirReply(from: number, end: number, bytes: number): Buffer;
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
  type(i: number): number {
    return this.entries[i]!.type;
  }
  readdirReply(from: number, end: number, bytes: number): Buffer {
    const out = new DirBuffer(bytes, false);
    for (let i = from; i < end; i++) {
      const e = this.entries[i]!;
      if (!out.add(e.name, e.ino, e.type, i + 1)) break;
    }
    return out.result();
  }
}

/** Where a struct fuse_dirent keeps its name length, type and name. */
const NAMELEN = 16;
const TYPE = 20;
const NAME = 24;
const DT_DIR = 4;

/** Is the record at `p` "." or ".."? */
function isDotRecord(records: Buffer, p: number): boolean {
  const len = records.readUInt32LE(p + NAMELEN);
  return len <= 2 && records[p + NAME] === 0x2e && (len === 1 || records[p + NAME + 1] === 0x2e);
}

export class PackedListing implements Listing {
  private readonly records: Buffer;
  /** Record i is records[offsets[i], offsets[i + 1]). */
  private readonly offsets: Uint32Array;
  /** Index into `branches` of the branch record i came from. */
  private readonly from: Uint8Array;

  /** `packed`: readdirMergedSync's result for these branches (see src/native/index.ts). */
  constructor(
    readonly packed: Buffer,
    readonly branches: readonly Branch[],
  ) {
    const count = packed.readUInt32LE(0);
    const len = packed.readUInt32LE(4);
    this.records = packed.subarray(8, 8 + len);
    const offsetsAt = packed.byteOffset + 8 + len;
    // A view when aligned (the addon's buffers are); else a copy.
    this.offsets =
      offsetsAt % 4 === 0 ? new Uint32Array(packed.buffer, offsetsAt, count + 1) : new Uint32Array(packed.buffer.slice(offsetsAt, offsetsAt + 4 * (count + 1)));
    this.from = new Uint8Array(packed.buffer, offsetsAt + 4 * (count + 1), count);
  }

  get length(): number {
    return this.from.length;
  }

  /** Indices (into `branches`) of the branches entries [from, end) come from. */
  branchesIn(from: number, end: number): Set<number> {
    const out = new Set<number>();
    for (let i = from; i < end; i++) out.add(this.from[i]!);
    return out;
  }

  nameLength(i: number): number {
    return this.records.readUInt32LE(this.offsets[i]! + NAMELEN);
  }

  entry(i: number): MergedEntry {
    const p = this.offsets[i]!;
    const r = this.records;
    const name = r.subarray(p + NAME, p + NAME + r.readUInt32LE(p + NAMELEN));
    return { name, type: r.readUInt32LE(p + TYPE), branch: this.branches[this.from[i]!]!, ino: r.readBigUInt64LE(p) };
  }

  type(i: number): number {
    return this.records.readUInt32LE(this.offsets[i]! + TYPE);
  }

  /** Indices (into `branches`) of the branches the directories among entries [from, end) come from, "." and ".." left out. */
  dirBranchesIn(from: number, end: number): Set<number> {
    const out = new Set<number>();
    for (let i = from; i < end; i++) {
      const p = this.offsets[i]!;
      if (this.records.readUInt32LE(p + TYPE) !== DT_DIR || isDotRecord(this.records, p)) continue;
      out.add(this.from[i]!);
    }
    return out;
  }

  readdirReply(from: number, end: number): Buffer {
    return this.records.subarray(this.offsets[from], this.offsets[end]);
  }
}
