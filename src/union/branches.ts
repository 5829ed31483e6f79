// The branch manager's state: the branches of a pool, opened once, and what
// policies need to know about them for one call.
//
// A BranchSet is immutable. Changing the branch list at run time builds a
// new set and swaps it in, so a request that started with the old set
// finishes with it (mergerfs publishes branch updates the same way).
// Each branch root is held as an O_PATH fd: every path on a branch is an
// *at() call beneath it, whatever happens to the root's name afterwards.
import type { BranchMode, Candidate, Probe } from '../../policies/types.js';
import { all, isPromise, then, type MaybePromise } from '../../policies/maybe.js';
import { Errno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';

const ST_RDONLY = 1;

export interface BranchInput {
  readonly path: string;
  readonly mode: BranchMode;
  /** Per-branch override of the global minfreespace, bytes. */
  readonly minFreeSpace: number | undefined;
}

export interface Branch {
  readonly index: number;
  readonly root: string;
  readonly rootFd: number;
  readonly mode: BranchMode;
  readonly minFreeSpace: number;
}

/** A statvfs result kept for `ttlMs` (mergerfs's cache.statfs; 0 = always fresh). */
interface SpaceSample {
  at: number;
  readOnlyFs: boolean;
  unavailable: boolean;
  spaceAvail: number;
  spaceUsed: number;
}

export class BranchSet {
  private readonly space = new Map<number, SpaceSample>();

  private constructor(readonly branches: readonly Branch[]) {}

  /** Opens every branch root. A branch that cannot be opened is an error naming it. */
  static open(inputs: readonly BranchInput[], globalMinFreeSpace: number): BranchSet {
    const opened: Branch[] = [];
    try {
      inputs.forEach((b, index) => {
        opened.push({ index, root: b.path, rootFd: sys.openPath(Buffer.from(b.path)), mode: b.mode, minFreeSpace: b.minFreeSpace ?? globalMinFreeSpace });
      });
    } catch (e) {
      for (const b of opened) sys.closeQuietly(b.rootFd);
      throw e;
    }
    return new BranchSet(opened);
  }

  close(): void {
    for (const b of this.branches) sys.closeQuietly(b.rootFd);
  }

  get size(): number {
    return this.branches.length;
  }

  branch(index: number): Branch {
    const b = this.branches[index];
    if (!b) throw new RangeError(`no branch ${index}`);
    return b;
  }

  /** Free space and read-only state of one branch, from statvfs of its root. */
  private sample(b: Branch, ttlMs: number, now: number): MaybePromise<SpaceSample> {
    const cached = this.space.get(b.index);
    if (cached && now - cached.at < ttlMs) return cached;
    // A slow branch answers from its last figures while fresh ones are
    // fetched: a policy must not wait on a disk spinning up, or a hung mount.
    if (cached && sys.isSlow(b.rootFd)) {
      if (!this.refreshing.has(b.index)) {
        this.refreshing.add(b.index);
        void Promise.resolve(this.fetch(b, now)).finally(() => this.refreshing.delete(b.index));
      }
      return cached;
    }
    return this.fetch(b, now);
  }

  private readonly refreshing = new Set<number>();

  private fetch(b: Branch, now: number): MaybePromise<SpaceSample> {
    const keep = (v: sys.StatVfs | undefined): SpaceSample => {
      const s: SpaceSample = v
        ? { at: now, readOnlyFs: (v.flag & ST_RDONLY) !== 0, unavailable: false, spaceAvail: v.bavail * v.frsize, spaceUsed: (v.blocks - v.bfree) * v.frsize }
        : { at: now, readOnlyFs: false, unavailable: true, spaceAvail: 0, spaceUsed: 0 };
      this.space.set(b.index, s);
      return s;
    };
    let v: MaybePromise<sys.StatVfs>;
    try {
      v = sys.fstatvfs(b.rootFd);
    } catch {
      return keep(undefined);
    }
    return isPromise(v) ? v.then(keep, () => keep(undefined)) : keep(v);
  }

  /**
   * Every branch as a policy sees it right now (at once unless a figure has
   * to come from a slow branch). While the free-space samples are the same,
   * so are the (frozen) candidates and their array: a lookup allocates none.
   */
  candidates(ttlMs = 0): MaybePromise<readonly Candidate[]> {
    const now = Date.now();
    return then(all(this.branches.map((b) => then(this.sample(b, ttlMs, now), (s) => this.candidateOf(b, s)))), (cs) => {
      const last = this.lastCandidates;
      if (last.length === cs.length && cs.every((c, i) => c === last[i])) return last;
      return (this.lastCandidates = Object.freeze(cs));
    });
  }

  private lastCandidates: readonly Candidate[] = [];
  private readonly shown = new Map<number, { sample: SpaceSample; candidate: Candidate }>();

  private candidateOf(b: Branch, s: SpaceSample): Candidate {
    const last = this.shown.get(b.index);
    if (last?.sample === s) return last.candidate;
    const candidate: Candidate = Object.freeze({ index: b.index, root: b.root, mode: b.mode, minFreeSpace: b.minFreeSpace, readOnlyFs: s.readOnlyFs, unavailable: s.unavailable, spaceAvail: s.spaceAvail, spaceUsed: s.spaceUsed });
    this.shown.set(b.index, { sample: s, candidate });
    return candidate;
  }

  /** Existence and mtime questions, answered with lstat beneath each root. */
  probe(): Probe {
    const statOf = (c: Candidate, path: Buffer): MaybePromise<sys.Stat | undefined> => statBeneath(this.branch(c.index), path);
    return {
      exists: (c, path) => then(statOf(c, path), (st) => st !== undefined),
      mtime: (c, path) => then(statOf(c, path), (st) => (st === undefined ? undefined : st.mtimeSec * 1e9 + st.mtimeNsec)),
    };
  }
}

const DOT = Buffer.from('.');

/** What "not there" looks like beneath a root, including a path walk refused by openat2. */
const MISSING = new Set<number>([Errno.ENOENT, Errno.ENOTDIR, Errno.ELOOP, Errno.EXDEV]);

/** lstat of a branch-relative path ('' is the root); undefined when it is not there. */
export function statBeneath(b: Branch, rel: Buffer): MaybePromise<sys.Stat | undefined> {
  return sys.lstatIfPresent(b.rootFd, rel.length ? rel : DOT, MISSING);
}
