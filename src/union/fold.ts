// Combining the results of one syscall run on several branches.
//
// mergerfs has several unnamed aggregation rules scattered over its fuse_*.cpp
// files (`Err` in error.hpp, `PolicyRV` in policy_rv.hpp, ad-hoc loops in
// rmdir/link/rename); reference §3.2 lists them. Here each is a named rule,
// and an op says which one it uses:
//
//   await applyToBranches(targets, (b) => sys.unlink(...), anySuccess, 'unlink');
//
// Rules throw the ORIGINAL error object of the branch they pick (FsError or
// a Node fs error), so the daemon's single errno mapper (toErrno) sees it.
// Only errors no branch produced (ENOENT when nothing was acted on, EXDEV for
// a failed path-preserving rename) are synthesised, as FsError.
import { Errno, FsError, knownErrno } from '../sys/errno.js';

/** What one branch answered. `index` is the branch's position in the branch list. */
export type BranchResult<T> =
  | { readonly index: number; readonly ok: true; readonly value: T }
  | { readonly index: number; readonly ok: false; readonly error: unknown };

/** Turns the per-branch results (in the order the branches were acted on) into one answer, or throws. */
export type FoldRule<T> = (results: readonly BranchResult<T>[], op?: string) => T | Promise<T>;

function nothingActedOn(op: string | undefined): FsError {
  return new FsError(Errno.ENOENT, op);
}

/**
 * Any success wins (the first one's value); otherwise the FIRST error.
 * mergerfs: unlink (fuse_unlink.cpp, the `Err` type in error.hpp: "any
 * success → 0"; its docs say "first error wins", the code does not), and
 * mkdir/mknod/symlink over multi-branch create policies (fuse_mkdir.cpp).
 * Also rename in non-path-preserving mode.
 */
export function anySuccess<T>(results: readonly BranchResult<T>[], op?: string): T {
  let firstError: BranchResult<T> | undefined;
  for (const r of results) {
    if (r.ok) return r.value;
    firstError ??= r;
  }
  if (firstError === undefined) throw nothingActedOn(op);
  return unwrap(firstError);
}

/**
 * All succeeded → the first value; all failed → the first error; mixed → the
 * result of the branch the getattr SEARCH policy picks (`searchIndex`), so
 * what the caller sees agrees with a following stat; ENOENT when that branch
 * was not acted on, or when the search found nothing (undefined).
 * mergerfs: chmod, chown, truncate, utimens, setxattr, removexattr
 * (fuse_chmod.cpp + PolicyRV::get_error in policy_rv.hpp; the docs' "return 0"
 * for the mixed case is not what the code does).
 */
export function preferSearchBranch<T>(results: readonly BranchResult<T>[], searchIndex: number | undefined, op?: string): T {
  const first = results[0];
  if (first === undefined) throw nothingActedOn(op);
  if (!isMixed(results)) return unwrap(first);
  const picked = searchIndex === undefined ? undefined : results.find((r) => r.index === searchIndex);
  if (picked === undefined) throw nothingActedOn(op);
  return unwrap(picked);
}

/**
 * preferSearchBranch as a rule for applyToBranches. `search` is the search
 * policy's branch index, or a function asked for it only when the results are
 * mixed (running the getattr policy costs probes, and mixed results are rare).
 */
export function preferSearch<T>(search: number | undefined | (() => number | undefined | Promise<number | undefined>)): FoldRule<T> {
  return async (results, op) => {
    let index: number | undefined;
    if (typeof search !== 'function') index = search;
    else if (isMixed(results)) index = await search();
    return preferSearchBranch(results, index, op);
  };
}

const STICKY_RMDIR = new Set<number>([Errno.ENOTEMPTY, Errno.EEXIST]);

/**
 * ENOTEMPTY/EEXIST are sticky: the first such error wins even over successes
 * (the directory still exists in the pool, so rmdir must not report success);
 * otherwise the LAST result wins. Note the branches before it may already
 * have had their empty copy removed.
 * mergerfs: rmdir (fuse_rmdir.cpp at HEAD).
 */
export function rmdirFold<T>(results: readonly BranchResult<T>[], op?: string): T {
  let last: BranchResult<T> | undefined;
  for (const r of results) {
    if (!r.ok) {
      const errno = knownErrno(r.error);
      if (errno !== undefined && STICKY_RMDIR.has(errno)) throw r.error;
    }
    last = r;
  }
  if (last === undefined) throw nothingActedOn(op);
  return unwrap(last);
}

/**
 * The first success wins; with none, the LAST error.
 * mergerfs: link (fuse_link.cpp).
 */
export function linkFold<T>(results: readonly BranchResult<T>[], op?: string): T {
  let lastError: BranchResult<T> | undefined;
  for (const r of results) {
    if (r.ok) return r.value;
    lastError = r;
  }
  if (lastError === undefined) throw nothingActedOn(op);
  return unwrap(lastError);
}

/**
 * Any success → that (first) value; none → EXDEV whatever the branches said,
 * so the caller (mv, rename-exdev) falls back to copy + unlink.
 * mergerfs: rename in path-preserving mode (fuse_rename.cpp: "TODO: probably
 * should try to be nuanced").
 */
export function renamePreservingFold<T>(results: readonly BranchResult<T>[], op = 'rename'): T {
  for (const r of results) if (r.ok) return r.value;
  throw new FsError(Errno.EXDEV, op);
}

function isMixed(results: readonly BranchResult<unknown>[]): boolean {
  let oks = 0;
  for (const r of results) if (r.ok) oks++;
  return oks > 0 && oks < results.length;
}

function unwrap<T>(r: BranchResult<T>): T {
  if (r.ok) return r.value;
  throw r.error;
}

/**
 * Runs `fn` on each target, one after the other in the given order, and folds
 * the results with `rule`. A throw or rejection from `fn` that carries an
 * errno is a branch result; anything else is a bug and is rethrown at once,
 * without running the remaining targets and without being folded away by
 * another branch's success.
 */
export async function applyToBranches<B extends { readonly index: number }, T>(
  targets: readonly B[],
  fn: (target: B) => T | Promise<T>,
  rule: FoldRule<T>,
  op?: string,
): Promise<T> {
  const results: BranchResult<T>[] = [];
  for (const b of targets) {
    try {
      results.push({ index: b.index, ok: true, value: await fn(b) });
    } catch (error) {
      if (knownErrno(error) === undefined) throw error;
      results.push({ index: b.index, ok: false, error });
    }
  }
  return rule(results, op);
}
