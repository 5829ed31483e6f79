// The pool: branches plus the policy each FUSE function uses to pick them.
//
// Every operation asks the pool which branches to act on (select), exactly
// as mergerfs does: the function's policy gets fresh figures for every
// branch (free space cached for cache.statfs) and a probe that answers
// "does this path exist there". The probe memoises its lstat results for the
// call, so an op that selects with ff and then stats the chosen branch pays
// for one lstat, not two.
import { CATEGORY_FUNCTIONS, CATEGORY_OF, type FunctionName } from '../../policies/index.js';
import { isRefusal, unlessRefused } from '../../policies/types.js';
import type { Candidate, Category, Policy, Probe, Refusal } from '../../policies/types.js';
import { Errno, FsError } from '../sys/errno.js';
import { then, type MaybePromise } from '../../policies/maybe.js';
import * as sys from '../sys/fs.js';
import { statBeneath, type Branch, type BranchSet } from './branches.js';
import { inodeCalc, type InodeCalcMode } from './inodecalc.js';

export type SearchFunc = (typeof CATEGORY_FUNCTIONS.search)[number];
export type CreateFunc = (typeof CATEGORY_FUNCTIONS.create)[number];
export type ActionFunc = (typeof CATEGORY_FUNCTIONS.action)[number];
export type FuncName = FunctionName;

export interface PoolOptions {
  inodecalc: InodeCalcMode;
  /** statfs over every branch root (base) or only branches holding the path (full). */
  statfs: 'base' | 'full';
  /** Leave the free space of RO (or RO and NC) branches out of statfs. */
  statfsIgnore: 'none' | 'ro' | 'nc';
  /** ignorepponrename: treat rename/link as non-path-preserving whatever the create policy. */
  ignorePathPreservingOnRename: boolean;
  /** The create policy that picks where a file moves when its branch fills mid-write, or false. */
  moveOnEnospc: string | false;
  /** What a link that would cross branches (EXDEV) does instead. */
  linkExdev: 'passthrough' | 'rel-symlink' | 'abs-base-symlink' | 'abs-pool-symlink';
  /** What a rename that would cross branches (EXDEV) does instead. */
  renameExdev: 'passthrough' | 'rel-symlink' | 'abs-symlink';
  /** The mountpoint, for symlinks that point through the pool. */
  mountpoint: string;
  /** How long free-space figures are reused, ms (mergerfs cache.statfs). */
  statfsTtlMs: number;
}

const DOT = Buffer.from('.');
/** A branch-relative path as an *at() argument ('' is the root, which *at() wants as "."). */
export const atPath = (rel: Buffer): Buffer => (rel.length === 0 ? DOT : rel);


/** One selection: the chosen branches, and the lstat results the policy already paid for. */
export class Selection {
  constructor(
    readonly branches: readonly Branch[],
    private readonly memo: Map<number, MaybePromise<sys.Stat | undefined>>,
    private readonly path: Buffer,
  ) {}

  get first(): Branch {
    return this.branches[0]!;
  }

  /** lstat of the selection's path on branch `b` (reused from the policy when it asked); at once when it can be. */
  stat(b: Branch): MaybePromise<sys.Stat> {
    const st = this.memo.has(b.index) ? this.memo.get(b.index) : statBeneath(b, this.path);
    return then(st, (v) => {
      if (!v) throw new FsError(Errno.ENOENT, 'lstat', this.path);
      return v;
    });
  }
}

export class Pool {
  constructor(
    readonly branches: BranchSet,
    private readonly policyFor: (func: FuncName) => Policy,
    readonly options: PoolOptions,
    private readonly random: () => number = Math.random,
  ) {}

  policy(func: FuncName): Policy {
    return this.policyFor(func);
  }

  /**
   * The branches `func` acts on for `path` (for create functions, `path` is
   * the parent directory). Throws the policy's error (EROFS, ENOSPC, ENOENT).
   */
  select(func: FuncName, path: Buffer): MaybePromise<Selection> {
    return then(this.trySelect(func, path), unlessRefused);
  }

  /** select(), with "no branch qualifies" returned (negative lookups are routine; a throw is not cheap). */
  trySelect(func: FuncName, path: Buffer): MaybePromise<Selection | Refusal> {
    return this.trySelectWith(this.policyFor(func), CATEGORY_OF.get(func) ?? 'search', path);
  }

  /**
   * Runs any policy (e.g. moveonenospc's) as if for a function of `category`.
   * On branches whose syscalls run on the JS thread this completes at once
   * (see policies/maybe.ts); it may also throw at once.
   */
  selectWith(policy: Policy, category: Category, path: Buffer, exclude?: ReadonlySet<number>): MaybePromise<Selection> {
    return then(this.trySelectWith(policy, category, path, exclude), unlessRefused);
  }

  trySelectWith(policy: Policy, category: Category, path: Buffer, exclude?: ReadonlySet<number>): MaybePromise<Selection | Refusal> {
    const memo = new Map<number, MaybePromise<sys.Stat | undefined>>();
    const set = this.branches;
    const statMemo = (c: Candidate, p: Buffer): MaybePromise<sys.Stat | undefined> => {
      if (!p.equals(path)) return statBeneath(set.branch(c.index), p);
      if (memo.has(c.index)) return memo.get(c.index);
      const s = statBeneath(set.branch(c.index), p);
      memo.set(c.index, s);
      return s;
    };
    const probe: Probe = {
      exists: (c, p) => then(statMemo(c, p), (st) => st !== undefined),
      mtime: (c, p) => then(statMemo(c, p), (st) => (st === undefined ? undefined : st.mtimeSec * 1e9 + st.mtimeNsec)),
    };
    // Search policies rarely look at free space (ff does not), so their
    // figures may be up to a second old instead of costing a statvfs per
    // lookup; create and action policies get cache.statfs freshness.
    const ttl = category === 'search' ? Math.max(1000, this.options.statfsTtlMs) : this.options.statfsTtlMs;
    return then(set.candidates(ttl), (all) => {
      const candidates = exclude ? all.filter((c) => !exclude.has(c.index)) : all;
      return then(policy.trySelect({ category, path, candidates, probe, random: this.random }), (chosen) =>
        isRefusal(chosen) ? chosen : new Selection(chosen.map((c) => set.branch(c.index)), memo, path),
      );
    });
  }

  /** Every branch where `path` exists, in list order, with its lstat. */
  async everywhere(path: Buffer): Promise<Array<{ branch: Branch; st: sys.Stat }>> {
    const found = await Promise.all(this.branches.branches.map(async (b) => ({ branch: b, st: await statBeneath(b, path) })));
    return found.filter((f): f is { branch: Branch; st: sys.Stat } => f.st !== undefined);
  }

  /** The st_ino shown for a file found on branch `b` (inodecalc). */
  inode(b: Branch, rel: Buffer, st: Pick<sys.Stat, 'dev' | 'ino' | 'mode'>): bigint {
    return inodeCalc(this.options.inodecalc, { branchRoot: b.root, relPath: rel, dev: st.dev, ino: st.ino, isDir: sys.isDir(st.mode) });
  }
}
