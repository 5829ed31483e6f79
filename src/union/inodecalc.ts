// The st_ino users see: mergerfs's `inodecalc` option (src/fs_inode.cpp,
// reference §3.6). FUSE node ids are ours and internal; st_ino (and d_ino in
// readdir) is computed from the branch file by one of these modes:
//
//   passthrough    the branch's own inode number; files on different branches
//                  may collide.
//   path-hash      hash of the path relative to the branch root: the same on
//                  every branch and across out-of-band moves between branches;
//                  hard links get different numbers (they still work).
//   devino-hash    hash of the branch inode, seeded with a hash of the branch
//                  root PATH: hard links on one branch share st_ino. mergerfs
//                  2.41+ seeds with the path rather than st_dev because st_dev
//                  is not stable across reboots (so `dev` is not used).
//   hybrid-hash    path-hash for directories, devino-hash for everything else
//                  (the default).
//   *32            the 64-bit value folded to 32 bits for 32-bit consumers:
//                  h ^= h >> 32; h *= 0x9E3779B9 (mod 2^32), as mergerfs does.
//
// THE HASH MUST NEVER CHANGE once released: inode numbers have to be stable
// across remounts and versions (NFS file handles, backup tools, `find -inum`,
// hard-link detection in rsync/tar all rely on them). The golden values in
// test/unit/inodecalc.test.ts pin it; a change there is a breaking change.
//
// The hash is 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime
// 0x100000001b3) over the bytes, computed in two 32-bit lanes so no BigInt is
// created per byte, followed by a finalizer that mixes the lanes with
// MurmurHash3's fmix32 (lo = fmix32(lo ^ hi); hi = fmix32(hi ^ lo)). FNV-1a
// alone mixes only upwards (bit k of the result depends on input bits <= k),
// which would make the low bits, and the 32-bit fold, poor; the finalizer is
// a bijection on 64-bit values, so it adds no collisions. mergerfs uses
// rapidhash, so our numbers differ from mergerfs's; nothing depends on that.
//
// Zero is never returned (mapped to 1): ino 0 means "no inode" to the kernel
// in readdir and to several tools.

export const INODECALC_MODES = [
  'passthrough',
  'path-hash',
  'path-hash32',
  'devino-hash',
  'devino-hash32',
  'hybrid-hash',
  'hybrid-hash32',
] as const;

export type InodeCalcMode = (typeof INODECALC_MODES)[number];

export const DEFAULT_INODECALC: InodeCalcMode = 'hybrid-hash';

export interface InodeInput {
  /** The branch root path (seeds devino-hash). */
  readonly branchRoot: string;
  /** Path relative to the branch root, no leading '/', '' for the root (hashed by path-hash). */
  readonly relPath: Buffer;
  /** st_dev of the branch file; unused by every mode (see devino-hash above), kept for completeness. */
  readonly dev: bigint;
  /** st_ino of the branch file. */
  readonly ino: bigint;
  readonly isDir: boolean;
}

export type InodeCalcFn = (input: InodeInput) => bigint;

// ---- the hash -------------------------------------------------------------

const FNV_BASIS_HI = 0xcbf29ce4;
const FNV_BASIS_LO = 0x84222325;

/** Scratch space for moving between two u32 lanes and one u64 BigInt. */
const scratch = new DataView(new ArrayBuffer(8));
/** The same eight bytes, for feeding a u64 through feedBytes. */
const scratchBytes = new Uint8Array(scratch.buffer);

// The lanes of the running state; module-level so the hot loop allocates nothing.
let sLo = 0;
let sHi = 0;

/**
 * FNV-1a over bytes, continuing from (sLo, sHi): per byte, state ^= b;
 * state *= 0x100000001b3 (mod 2^64). The prime is 2^40 + 0x1b3, so
 * state * prime = state * 0x1b3 + (lo << 40). lo * 0x1b3 is formed from
 * 16-bit halves so every intermediate stays a small integer: its low 32 bits
 * are the new low lane, the bits above carry into the high lane.
 */
function feedBytes(bytes: Uint8Array): void {
  let lo = sLo | 0;
  let hi = sHi | 0;
  for (let i = 0; i < bytes.length; i++) {
    lo ^= bytes[i]!;
    const a = (lo & 0xffff) * 0x1b3; // < 2^25
    const b = (lo >>> 16) * 0x1b3; // < 2^25
    const carry = ((a >>> 16) + b) >>> 16;
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) | 0;
    lo = (a + (b << 16)) | 0;
  }
  sLo = lo >>> 0;
  sHi = hi >>> 0;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function finalize(): void {
  sLo = fmix32(sLo ^ sHi);
  sHi = fmix32(sHi ^ sLo);
}

function stateToBigInt(): bigint {
  scratch.setUint32(0, sLo, true);
  scratch.setUint32(4, sHi, true);
  return scratch.getBigUint64(0, true);
}

/** Plain 64-bit FNV-1a (no finalizer). Exported so tests can check it against the published vectors. */
export function fnv1a64(bytes: Uint8Array): bigint {
  sLo = FNV_BASIS_LO;
  sHi = FNV_BASIS_HI;
  feedBytes(bytes);
  return stateToBigInt();
}

/** The inode hash of a byte string: FNV-1a 64 plus the lane finalizer. */
export function hash64(bytes: Uint8Array): bigint {
  sLo = FNV_BASIS_LO;
  sHi = FNV_BASIS_HI;
  feedBytes(bytes);
  finalize();
  return stateToBigInt();
}

// Branch seeds: hash64 of the root path's UTF-8 bytes, as [lo, hi]. There are
// few branches, so a small map saves re-encoding the root on every call; it is
// cleared if it ever grows (roots come from config, not from users' files).
const seeds = new Map<string, readonly [number, number]>();
const MAX_SEEDS = 1024;

function seedOf(root: string): readonly [number, number] {
  let s = seeds.get(root);
  if (s === undefined) {
    sLo = FNV_BASIS_LO;
    sHi = FNV_BASIS_HI;
    feedBytes(Buffer.from(root, 'utf8'));
    finalize();
    s = [sLo, sHi];
    if (seeds.size >= MAX_SEEDS) seeds.clear();
    seeds.set(root, s);
  }
  return s;
}

// ---- the modes: each leaves the 64-bit result in (sLo, sHi) ---------------

function pathHashLanes(input: InodeInput): void {
  sLo = FNV_BASIS_LO;
  sHi = FNV_BASIS_HI;
  feedBytes(input.relPath);
  finalize();
}

function devinoHashLanes(input: InodeInput): void {
  const seed = seedOf(input.branchRoot);
  sLo = seed[0];
  sHi = seed[1];
  // Little-endian, so the bytes that vary most are mixed most; wraps mod 2^64 like ino_t.
  scratch.setBigUint64(0, input.ino, true);
  feedBytes(scratchBytes);
  finalize();
}

function out64(): bigint {
  return sLo === 0 && sHi === 0 ? 1n : stateToBigInt();
}

/** h ^= h >> 32; h *= 0x9E3779B9 (mod 2^32). The multiplier is odd, so only h ^ (h >> 32) == 0 gives 0. */
function out32(): bigint {
  const h = Math.imul((sLo ^ sHi) >>> 0, 0x9e3779b9) >>> 0;
  return h === 0 ? 1n : BigInt(h);
}

function hybridLanes(input: InodeInput): void {
  if (input.isDir) pathHashLanes(input);
  else devinoHashLanes(input);
}

const CALC: Readonly<Record<InodeCalcMode, InodeCalcFn>> = {
  passthrough: (i) => (i.ino === 0n ? 1n : i.ino),
  'path-hash': (i) => {
    pathHashLanes(i);
    return out64();
  },
  'path-hash32': (i) => {
    pathHashLanes(i);
    return out32();
  },
  'devino-hash': (i) => {
    devinoHashLanes(i);
    return out64();
  },
  'devino-hash32': (i) => {
    devinoHashLanes(i);
    return out32();
  },
  'hybrid-hash': (i) => {
    hybridLanes(i);
    return out64();
  },
  'hybrid-hash32': (i) => {
    hybridLanes(i);
    return out32();
  },
};

export function isInodeCalcMode(s: string): s is InodeCalcMode {
  return (INODECALC_MODES as readonly string[]).includes(s);
}

/** Validates an option value. Throws an Error listing the modes. */
export function parseInodeCalcMode(s: string): InodeCalcMode {
  if (!isInodeCalcMode(s)) throw new Error(`invalid inodecalc '${s}': expected one of ${INODECALC_MODES.join(', ')}`);
  return s;
}

/** Whether `mode` reads the path (so a listing builds one per entry only when it must). */
export function usesPath(mode: InodeCalcMode, isDir: boolean): boolean {
  if (mode.startsWith('path-hash')) return true;
  if (mode.startsWith('hybrid-hash')) return isDir;
  return false;
}

/** The calculator for a mode, resolved once (for readdir loops and the like). */
export function inodeCalcFor(mode: InodeCalcMode): InodeCalcFn {
  // Checked at run time too: the value may come from an unchecked cast or a runtime setting.
  return CALC[parseInodeCalcMode(mode)];
}

/**
 * What the addon's merged listing (readdirMergedSync) needs to compute the
 * same numbers as inodeCalc for every listed name: a code of which entries
 * hash their path (1: directories, 2: the rest), the 32-bit fold (4) or the
 * branch's own number (8), and each branch's devino seed.
 */
export function listingCalcCode(mode: InodeCalcMode): number {
  if (mode === 'passthrough') return 8;
  const fold = mode.endsWith('32') ? 4 : 0;
  return fold | (usesPath(mode, true) ? 1 : 0) | (usesPath(mode, false) ? 2 : 0);
}

/** The branches' devino seeds as [lo u32 LE][hi u32 LE] each, in order (for listingCalcCode). */
export function listingSeeds(roots: readonly string[]): Buffer {
  const out = Buffer.alloc(8 * roots.length);
  roots.forEach((root, i) => {
    const [lo, hi] = seedOf(root);
    out.writeUInt32LE(lo, 8 * i);
    out.writeUInt32LE(hi, 8 * i + 4);
  });
  return out;
}

/** The st_ino to show for a branch file under `mode`; never 0. */
export function inodeCalc(mode: InodeCalcMode, input: InodeInput): bigint {
  return inodeCalcFor(mode)(input);
}
