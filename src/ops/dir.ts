// OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR.
//
// A directory of the union is the merge of that directory on every branch,
// in list order, deduplicated by name: the first branch that has a name
// wins, its type and inode are used (mergerfs's readdir). The handle lists
// once, at its first READDIR (and again when the kernel rewinds to offset 0
// after reading), so cookies are positions in one listing and stay valid
// however the directory changes meanwhile. Not at OPENDIR: many opens of a
// directory never read it (a dirfd for openat, fchdir or fsync), and with
// cache.readdir the kernel answers from its own copy while the directory is
// unchanged; reading every branch's directory for those was wasted. The
// handle also holds the directory open on its first branch, so it can still
// be stat'ed and listed after rmdir.
// READDIRPLUS stats the entries of one reply and counts a lookup for each
// entry it hands out, as the kernel's FORGETs will expect.
import { constants } from 'node:os';
import * as abi from '../fuse/abi.js';
import type { Opcode } from '../fuse/abi.js';
import type { Req } from '../fuse/protocol.js';
import { DirBuffer, type EntryReply, type OpenReply } from '../fuse/replies.js';
import { Errno, FsError, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { DirHandle, MergedEntry } from '../union/handles.js';
import type { Branch } from '../union/branches.js';
import type { Node } from '../union/inodes.js';
import { atPath } from '../union/pool.js';
import { isPromise, then, type MaybePromise } from '../../policies/maybe.js';
import { listingCalcCode, listingSeeds, usesPath } from '../union/inodecalc.js';
import { NameSet } from '../union/nameset.js';
import { ArrayListing, PackedListing, type Listing } from '../union/listing.js';
import { native } from '../native/index.js';
import { fileType, identity, relOf, remember, shownStat, type OpContext } from './context.js';
import { LAYERED_HIDDEN_AT_ROOT, layeredListing } from './layered.js';
import { SPARSE, type ListingKind } from './plus-advisor.js';
import { CONTROL_NAME } from './control.js';

const DT_DIR = 4;
/** The most a READDIRPLUS reply sent without attributes holds (see readdirplus)... */
const NAMES_ONLY_BATCH = 4096;
/** ...unless the whole rest of the listing fits in this (about 100 names; namesOnlyBatch). */
const WHOLE_NAMES_ONLY = 16384;
/** A readdirplus stat that fails for any reason just lists the entry without attributes. */
const ANY_ERRNO: ReadonlySet<number> = new Set(Object.values(constants.errno));
const EMPTY = Buffer.alloc(0);
const O_PATH = 0o10000000;
/** Where a struct fuse_direntplus keeps its name length and name. */
const PLUS_NAMELEN = abi.EntryOut.size + 16;
const PLUS_NAME = abi.EntryOut.size + abi.Dirent.size;

/** The st_ino of a listed name; "." and ".." are named by where they point, so their numbers agree with stat. */
function listedIno(ctx: OpContext, rel: Buffer, b: Branch, name: Buffer, type: number, ino: bigint): bigint {
  const isDir = type === DT_DIR;
  // The path is built only for inodecalc modes that hash it.
  const path = !usesPath(ctx.pool.options.inodecalc, isDir) ? EMPTY : isDot(name) ? (name.length === 1 ? rel : sys.dirPart(rel)) : sys.joinPath(rel, name);
  return ctx.pool.inode(b, path, { ino, dev: 0n, mode: isDir ? sys.S_IFDIR : 0 });
}

/**
 * The merged listing of `rel` over every branch that has it (first branch
 * wins a name). Below the root, on branches served on the JS thread, the
 * addon merges and dedupes (PackedListing); the root (hidden names) and
 * slow branches take the entry-by-entry path.
 */
async function mergedListing(ctx: OpContext, rel: Buffer, hidden: ReadonlySet<string>, held: HeldDir | undefined): Promise<Listing> {
  const branches = ctx.pool.branches.branches;
  if (rel.length > 0 && branches.length <= 255 && !branches.some((b) => sys.isSlow(b.rootFd))) return packedListing(ctx, rel, branches, held);
  return new ArrayListing(await listedOneByOne(ctx, rel, hidden));
}

/** Each branch list's devino seeds, made once (the list is replaced when branches change). */
const seedsOf = new WeakMap<readonly Branch[], Buffer>();
function seeds(branches: readonly Branch[]): Buffer {
  let s = seedsOf.get(branches);
  if (!s) seedsOf.set(branches, (s = listingSeeds(branches.map((b) => b.root))));
  return s;
}

/** Where a directory is simply not on a branch. */
const NOT_A_DIR_HERE: ReadonlySet<number> = new Set([Errno.ENOENT, Errno.ENOTDIR]);

/** The directory a handle holds open on its branch: listed through that fd, with no second open of the path. */
interface HeldDir {
  readonly branch: Branch;
  readonly fd: number;
}

async function packedListing(ctx: OpContext, rel: Buffer, branches: readonly Branch[], held: HeldDir | undefined): Promise<Listing> {
  const fds: number[] = [];
  let firstError: unknown;
  try {
    for (const b of branches) {
      if (b === held?.branch) {
        fds.push(held.fd);
        continue;
      }
      try {
        // At once on inline branches, and no Error for the usual "not on this branch".
        const fd = sys.openIfPresent(b.rootFd, atPath(rel), sys.O_RDONLY | sys.O_DIRECTORY | sys.O_NOFOLLOW, NOT_A_DIR_HERE);
        fds.push((isPromise(fd) ? await fd : fd) ?? -1);
      } catch (e) {
        firstError ??= e;
        fds.push(-1);
      }
    }
    if (fds.every((fd) => fd < 0)) throw firstError instanceof Error ? firstError : new FsError(Errno.ENOENT, 'readdir');
    const records = native.readdirMergedSync(fds, rel, listingCalcCode(ctx.pool.options.inodecalc), seeds(branches));
    if (typeof records === 'number') throw new FsError(-records, 'readdir', rel);
    return new PackedListing(records, branches);
  } finally {
    for (const fd of fds) if (fd >= 0 && fd !== held?.fd) sys.closeQuietly(fd);
  }
}

async function listedOneByOne(ctx: OpContext, rel: Buffer, hidden: ReadonlySet<string>): Promise<MergedEntry[]> {
  const out: MergedEntry[] = [];
  const seen = new NameSet();
  let found = 0;
  let firstError: unknown;
  for (const b of ctx.pool.branches.branches) {
    let entries: sys.DirEntry[];
    try {
      entries = await sys.readdir(b.rootFd, atPath(rel));
      found++;
    } catch (e) {
      const errno = knownErrno(e);
      if (errno === Errno.ENOENT || errno === Errno.ENOTDIR) continue;
      firstError ??= e;
      continue;
    }
    // With one branch holding the directory there is nothing to dedupe (the common case of a big directory).
    const dedupe = ctx.pool.branches.size > 1;
    for (const e of entries) {
      if (dedupe && !seen.add(e.name)) continue;
      if (rel.length === 0 && hidden.has(e.name.toString('latin1'))) continue;
      out.push({ name: e.name, type: e.type, ino: listedIno(ctx, rel, b, e.name, e.type, e.ino), branch: b });
    }
  }
  if (found === 0) throw firstError instanceof Error ? firstError : new FsError(Errno.ENOENT, 'readdir');
  return out;
}

/** Names at the root that are never listed (the runtime control file; a cow pool's scratch directory). */
const HIDDEN = new Set<string>([CONTROL_NAME.toString('latin1')]);
const HIDDEN_LAYERED = new Set<string>([...HIDDEN, ...LAYERED_HIDDEN_AT_ROOT]);

/** The listing of a directory: merged over the layers in layered mode, else over every branch. */
async function listingOf(ctx: OpContext, rel: Buffer, held: HeldDir | undefined): Promise<Listing> {
  if (!ctx.layered) return mergedListing(ctx, rel, HIDDEN, held);
  const hits = await ctx.layered.layers.resolve(rel);
  if (hits.length === 0) throw new FsError(Errno.ENOENT, 'readdir');
  if (!hits[0]!.isDir) throw new FsError(Errno.ENOTDIR, 'readdir');
  return new ArrayListing(await layeredListing(ctx, rel, hits, HIDDEN_LAYERED));
}

/** Where opendir holds the directory open: the top layer in layered mode, else the first branch that has it. */
async function dirCandidates(ctx: OpContext, rel: Buffer): Promise<Array<{ b: Branch; rel: Buffer }>> {
  if (!ctx.layered) return ctx.pool.branches.branches.map((b) => ({ b, rel }));
  return (await ctx.layered.layers.resolve(rel)).slice(0, 1).map((h) => ({ b: h.branch, rel: h.rel }));
}

export async function opendir(ctx: OpContext, req: Req<Opcode.OPENDIR>): Promise<OpenReply> {
  const node = ctx.inodes.get(req.h.nodeid);
  const rel = relOf(ctx, node);
  if (rel === undefined) throw new FsError(Errno.ENOENT, 'opendir');
  // Held open on the first branch (in list order) that has the directory.
  let opened: { b: Branch; fd: number } | undefined;
  let firstError: unknown;
  for (const { b, rel: at } of await dirCandidates(ctx, rel)) {
    try {
      opened = { b, fd: await sys.open(b.rootFd, atPath(at), sys.O_RDONLY | sys.O_DIRECTORY | sys.O_NOFOLLOW) };
      break;
    } catch (e) {
      firstError ??= e;
    }
  }
  if (!opened) throw firstError instanceof Error ? firstError : new FsError(Errno.ENOENT, 'opendir');
  const h = ctx.handles.addDir(node, opened.b, opened.fd);
  // cache.readdir: the kernel keeps listings (it drops them itself when it changes the directory).
  return { fh: h.fh, openFlags: ctx.cache.readdir ? abi.FOPEN_CACHE_DIR | abi.FOPEN_KEEP_CACHE : 0, backingId: 0 };
}

/** Merged listings read so far (for the stats line): a directory opened and never read costs none. */
let listingsRead = 0;
export const listingsReadSoFar = (): number => listingsRead;

async function listing(ctx: OpContext, h: DirHandle, offset: number): Promise<Listing> {
  if (!h.entries || (offset === 0 && h.served)) {
    listingsRead++;
    const rel = relOf(ctx, h.node);
    // A directory that lost its name is listed through the fd we hold.
    h.entries = rel === undefined ? new ArrayListing((await sys.readdir(h.fd, sys.SELF)).map((e) => ({ ...e, branch: h.branch }))) : await listingOf(ctx, rel, h);
  }
  h.served = true;
  return h.entries;
}

const isDot = (name: Buffer): boolean => name.length <= 2 && name[0] === 0x2e && (name.length === 1 || name[1] === 0x2e);

export async function readdir(ctx: OpContext, req: Req<Opcode.READDIR>): Promise<Buffer> {
  const h = ctx.handles.dir(req.fh);
  const entries = await listing(ctx, h, req.offset);
  const { end, bytes } = fitting(entries, req.offset, req.size, false);
  ctx.handles.listingEnds(h, end === entries.length ? end : undefined);
  return entries.readdirReply(req.offset, end, bytes);
}

/**
 * How many entries from `offset` fit in a reply of `size` bytes, and their
 * size. The reply buffer is then made to measure: the kernel offers 32 KiB
 * or more, and a buffer that big is a fresh ArrayBuffer each time, which
 * the GC has to account and sweep (find lists thousands of directories).
 */
function fitting(entries: Listing, offset: number, size: number, plus: boolean): { end: number; bytes: number } {
  let bytes = 0;
  let end = offset;
  while (end < entries.length) {
    const rec = DirBuffer.recordSize(entries.nameLength(end), plus);
    if (bytes + rec > size) break;
    bytes += rec;
    end++;
  }
  return { end, bytes };
}

/**
 * The entries of a names-only READDIRPLUS reply: all that are left when
 * they fit in WHOLE_NAMES_ONLY (the kernel's next READDIR then only finds
 * the end: one round trip fewer for the many small directories of a source
 * tree), else NAMES_ONLY_BATCH worth, unless a full batch holds directories:
 * those go out with attributes (withoutAttributes), which the later READDIRs
 * cannot carry, and each left to them would cost a walk a LOOKUP.
 */
function namesOnlyBatch(entries: Listing, offset: number, size: number): { end: number; bytes: number } {
  const whole = fitting(entries, offset, Math.min(size, WHOLE_NAMES_ONLY), true);
  if (whole.end === entries.length) return whole;
  const full = fitting(entries, offset, size, true);
  // More than "." and "..": directories to give attributes to.
  if (countWhere(offset, full.end, (i) => entries.type(i) === DT_DIR) > 2) return full;
  return fitting(entries, offset, Math.min(size, NAMES_ONLY_BATCH), true);
}

export async function readdirplus(ctx: OpContext, req: Req<Opcode.READDIRPLUS>): Promise<Buffer> {
  const h = ctx.handles.dir(req.fh);
  const entries = await listing(ctx, h, req.offset);
  // readdirplus=auto (plus-advisor.ts). The kernel asks for attributes with
  // a later batch only once children of the directory were looked up.
  const kind: ListingKind = req.offset !== 0 ? 'attributes' : ctx.plusAdvisor.listingFor(h.node.id);
  // Work out which entries fit first, so that no lookup is counted for an
  // entry that is then left out of the reply. Names only, the batch is kept
  // small: a READDIRPLUS record is about 160 bytes against READDIR's 32, and
  // the kernel asks for the rest with READDIR (find: 10% faster than filling
  // the batch, which for a directory shown with a big st_blksize is all of it).
  const { end, bytes } = kind === 'names' ? namesOnlyBatch(entries, req.offset, req.size) : fitting(entries, req.offset, req.size, true);
  ctx.handles.listingEnds(h, end === entries.length ? end : undefined);
  const bare = withoutAttributes(entries, kind);
  if (kind !== 'attributes') ctx.plusAdvisor.listedNamesOnly(countWhere(req.offset, end, (i) => bare(i) && entries.type(i) !== DT_DIR));
  const dirRel = relOf(ctx, h.node);
  if (entries instanceof PackedListing && dirRel !== undefined && !ctx.layered) return packedReaddirplus(ctx, h, entries, dirRel, req.offset, end, bytes, kind, bare);
  const out = new DirBuffer(bytes, true);
  const batch: MergedEntry[] = [];
  for (let i = req.offset; i < end; i++) batch.push(entries.entry(i));
  // One directory fd per branch for the batch: each stat is then a single
  // fstatat of a name, not a path walk. Keyed by branch index; below an
  // overlay redirect a layer's directory has its own path (e.dirRel), and
  // those few are keyed by branch and path.
  const dirFds = new Map<number | string, number | undefined>();
  const dirFd = (b: Branch, rel: Buffer | undefined, own: boolean): MaybePromise<number | undefined> => {
    if (rel === undefined) return undefined;
    const key = own ? `${b.index}:${rel.toString('latin1')}` : b.index;
    if (dirFds.has(key)) return dirFds.get(key);
    return sys.open(b.rootFd, atPath(rel), O_PATH | sys.O_DIRECTORY | sys.O_NOFOLLOW).then(
      (fd) => (dirFds.set(key, fd), fd),
      () => (dirFds.set(key, undefined), undefined),
    );
  };
  // Stats come back at once on branches served on the JS thread: no promise per entry.
  const statOf = (e: MergedEntry, i: number): MaybePromise<sys.Stat | undefined> => {
    if (bare(i) || isDot(e.name) || dirRel === undefined) return undefined;
    return then(dirFd(e.branch, e.dirRel ?? dirRel, e.dirRel !== undefined), (fd) => {
      if (fd === undefined) return undefined;
      let st: MaybePromise<sys.Stat | undefined>;
      try {
        st = sys.lstatIfPresent(fd, e.name, ANY_ERRNO);
      } catch {
        return undefined; // vanished, or unreadable: listed without attributes
      }
      return then(st, (raw) => (raw === undefined ? undefined : shownStat(ctx, e.branch, { dir: fd, path: e.name }, raw)));
    });
  };
  const stats: Array<sys.Stat | undefined> = [];
  try {
    for (let k = 0; k < batch.length; k++) {
      const st = statOf(batch[k]!, req.offset + k);
      stats.push(isPromise(st) ? await st.catch(() => undefined) : st);
    }
  } finally {
    for (const fd of dirFds.values()) if (fd !== undefined) sys.closeQuietly(fd);
  }
  for (let k = 0; k < batch.length; k++) {
    const e = batch[k]!;
    const st = stats[k];
    let entry: EntryReply | undefined;
    if (st && dirRel !== undefined) entry = remember(ctx, h.node, e.name, e.branch, sys.joinPath(dirRel, e.name), st);
    // "." / ".." and entries that vanished go out with nodeid 0: no lookup.
    out.add(e.name, entry?.attr?.ino ?? e.ino, st ? (st.mode & sys.S_IFMT) >> 12 : e.type, req.offset + k + 1, entry);
  }
  return out.result();
}

/**
 * READDIRPLUS of a pool directory listed by the addon: the addon stats the
 * names and writes the reply (attributes, inode numbers); JS only gives each
 * name its node, which the node table keeps, and counts the lookup. Same
 * reply as the entry-by-entry path above, without a Stat, an entry object
 * and a path per name.
 */
async function packedReaddirplus(
  ctx: OpContext,
  h: DirHandle,
  entries: PackedListing,
  dirRel: Buffer,
  from: number,
  end: number,
  bytes: number,
  kind: ListingKind,
  bare: (i: number) => boolean,
): Promise<Buffer> {
  const branches = entries.branches;
  // No directory fd: every name goes out without attributes.
  const fds = branches.map(() => -1);
  try {
    // Names only: attributes for the directories (dirsOnly below), which a walk looks up anyway to descend.
    const toStat = kind !== 'names' ? entries.branchesIn(from, end) : entries.dirBranchesIn(from, end);
    for (const i of toStat) {
      // The directory may have left that branch: its names then go out without attributes.
      const fd = sys.openIfPresent(branches[i]!.rootFd, atPath(dirRel), O_PATH | sys.O_DIRECTORY | sys.O_NOFOLLOW, ANY_ERRNO);
      fds[i] = (isPromise(fd) ? await fd : fd) ?? -1;
    }
    const out = Buffer.alloc(bytes);
    const info = new BigUint64Array(3 * (end - from));
    const wrote = native.readdirPlusSync(entries.packed, from, end, fds, out, ctx.timeouts.entry, ctx.timeouts.attr, dirRel, listingCalcCode(ctx.pool.options.inodecalc), seeds(branches), info, kind === 'names');
    if (wrote < 0) throw new FsError(-wrote, 'readdirplus', dirRel);
    if (toStat.size === 0) return out.subarray(0, wrote);
    const nodes: Array<Node | undefined> = [];
    for (let k = 0, at = 0; at < wrote; k++) {
      const nameLen = out.readUInt32LE(at + PLUS_NAMELEN);
      // A name a sample leaves out keeps nodeid 0: the kernel ignores its attributes, and it is not registered.
      if (bare(from + k)) info[3 * k + 2] = 0n;
      const facts = info[3 * k + 2]!;
      if (facts !== 0n) {
        const name = out.subarray(at + PLUS_NAME, at + PLUS_NAME + nameLen);
        const b = branches[Number(facts >> 32n)]!;
        const node = ctx.inodes.remember(h.node, name, identity(b, { dev: info[3 * k]!, ino: info[3 * k + 1]! }), fileType(Number(facts & 0xffffffffn)));
        out.writeBigUInt64LE(node.id, at);
        nodes[k] = node;
      }
      at += DirBuffer.recordSize(nameLen, true);
    }
    const reply = out.subarray(0, wrote);
    ctx.servedNames.addListed(h.node, dirRel, reply, info, nodes);
    return reply;
  } finally {
    for (const fd of fds) if (fd >= 0) sys.closeQuietly(fd);
  }
}

/**
 * Which entries of a listing go out without attributes: every one but the
 * directories in a names-only one (a walk looks each directory up to go
 * into it: with its attributes here, the kernel need not ask), one
 * non-directory in SPARSE of a sample.
 */
function withoutAttributes(entries: Listing, kind: ListingKind): (i: number) => boolean {
  if (kind === 'attributes') return () => false;
  if (kind === 'names') return (i) => entries.type(i) !== DT_DIR;
  return (i) => i % SPARSE === SPARSE - 1 && entries.type(i) !== DT_DIR;
}

/** How many of [from, end) satisfy `pred` ("." and ".." are directories, so never counted by readdirplus). */
function countWhere(from: number, end: number, pred: (i: number) => boolean): number {
  let n = 0;
  for (let i = from; i < end; i++) if (pred(i)) n++;
  return n;
}

export async function releasedir(ctx: OpContext, req: Req<Opcode.RELEASEDIR>): Promise<void> {
  closeDir(ctx, req.fh);
}

/** Drops directory handle `fh` (RELEASEDIR, answered here or by the addon). */
export function closeDir(ctx: OpContext, fh: bigint): void {
  const h = ctx.handles.remove(fh);
  if (h) sys.close(h.fd);
}

export async function fsyncdir(ctx: OpContext, req: Req<Opcode.FSYNCDIR>): Promise<void> {
  await sys.fsync(ctx.handles.dir(req.fh).fd);
}
