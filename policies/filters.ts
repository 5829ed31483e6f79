// Category eligibility and the "everything was filtered" error.
//
// mergerfs checks each branch in a fixed order and records the first reason
// that excludes it (src/policy_*.cpp):
//   1. the configured mode           create: RO or NC → EROFS;  action: RO → EROFS
//   2. the path, for ep-style walks  missing → ENOENT
//   3. the filesystem state          create: statvfs failed or below minfreespace → ENOSPC,
//                                            mounted read-only → EROFS
//                                    action: mounted read-only → EROFS
// search filters nothing. The order matters only for which reason a branch
// contributes (a read-only branch missing the path gives ENOENT, as in the C++),
// so the mode and state checks are separate functions and the path check
// (asynchronous, see define.ts) runs between them.
//
// The reasons are folded with mergerfs's policy::calc_error (policy_error.hpp):
// start from ENOENT and let a reason replace the running error only if it is
// stronger, EROFS > ENOSPC > ENOENT. The docs say "most recent reason"; the code
// is priority-based, and so is this.
//
// One deliberate difference: mergerfs maps a failed statvfs to ENOENT; here an
// unavailable branch counts as ENOSPC ("cannot take new files"), and it is a
// create-only filter, as the brief for this module asks.
import type { Candidate, Category, PolicyError } from './types.js';

/** Why a branch was left out; the same codes PolicyError carries. */
export type Reason = PolicyError['code'];

const RANK: Readonly<Record<Reason, number>> = { ENOENT: 0, ENOSPC: 1, EROFS: 2 };

/** The running error after one more excluded branch: the stronger of the two. */
export function stronger(running: Reason, next: Reason): Reason {
  return RANK[next] > RANK[running] ? next : running;
}

/** The error to report when every branch was excluded for the given reasons. */
export function worst(reasons: Iterable<Reason>): Reason {
  let error: Reason = 'ENOENT';
  for (const r of reasons) error = stronger(error, r);
  return error;
}

/** Step 1: the branch's configured mode, checked before anything is probed. */
export function modeReason(category: Category, c: Candidate): Reason | undefined {
  switch (category) {
    case 'create':
      return c.mode === 'RW' ? undefined : 'EROFS';
    case 'action':
      return c.mode === 'RO' ? 'EROFS' : undefined;
    case 'search':
      return undefined;
  }
}

/** Step 3: the branch's filesystem as statvfs saw it, checked after the path. */
export function stateReason(category: Category, c: Candidate): Reason | undefined {
  switch (category) {
    case 'create':
      if (c.unavailable) return 'ENOSPC';
      if (c.readOnlyFs) return 'EROFS';
      return c.spaceAvail < c.minFreeSpace ? 'ENOSPC' : undefined;
    case 'action':
      return c.readOnlyFs ? 'EROFS' : undefined;
    case 'search':
      return undefined;
  }
}

/** Steps 1 and 3 together: why the branch is excluded whatever the path, or undefined if it is eligible. */
export function filterReason(category: Category, c: Candidate): Reason | undefined {
  return modeReason(category, c) ?? stateReason(category, c);
}
