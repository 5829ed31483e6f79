// The choosing half of a policy: given the eligible branches (never empty, in
// list order), which one(s). Eligibility is define.ts's job; these helpers only
// compare, so every tie rule is visible at the call site.
import type { Candidate } from './types.js';

/** At least one element; picks never see an empty list. */
export type NonEmpty<T> = readonly [T, ...T[]];

/** ff: the first eligible branch. */
export const first = (cs: NonEmpty<Candidate>): Candidate => cs[0];

/** all: every eligible branch. */
export const every = (cs: NonEmpty<Candidate>): readonly Candidate[] => cs;

/**
 * A linear scan that keeps the current best unless `replaces(x, best)` says
 * otherwise. The comparison names the tie rule: `>=` / `<=` let a later
 * branch win a tie, `>` / `<` keep the earlier one.
 */
export function scan<T>(items: readonly T[], replaces: (x: T, best: T) => boolean): T | undefined {
  let best: T | undefined;
  for (const x of items) if (best === undefined || replaces(x, best)) best = x;
  return best;
}

/** Uniform choice (rand, eprand), with `random()` in [0, 1). */
export function uniform(cs: NonEmpty<Candidate>, random: () => number): Candidate {
  const i = Math.min(cs.length - 1, Math.max(0, Math.floor(random() * cs.length)));
  return cs[i] ?? cs[0];
}

/**
 * Weighted random choice, as mergerfs's pfrd (policy_pfrd.cpp): threshold =
 * random() * sum, the first branch whose running sum reaches the threshold
 * (>=) wins. A zero sum chooses nothing (mergerfs returns its running error),
 * and like mergerfs a threshold of exactly 0 picks the first branch even when
 * its own weight is 0.
 */
export function weighted(cs: NonEmpty<Candidate>, weight: (c: Candidate) => number, random: () => number): Candidate | undefined {
  const sum = cs.reduce((s, c) => s + weight(c), 0);
  if (!(sum > 0)) return undefined;
  const threshold = random() * sum;
  let running = 0;
  for (const c of cs) {
    running += weight(c);
    if (running >= threshold) return c;
  }
  return cs[cs.length - 1]; // unreachable unless rounding: the last running sum is `sum`
}

/**
 * used / (used + avail) as an exact fraction, for lup. mergerfs compares the
 * ratios by cross-multiplication (in long double); BigInt keeps byte counts
 * beyond 2^53 / products beyond 2^64 exact. An empty filesystem counts as 0/1.
 */
export function usedShare(c: Candidate): { readonly used: bigint; readonly total: bigint } {
  const used = BigInt(Math.trunc(c.spaceUsed));
  const total = used + BigInt(Math.trunc(c.spaceAvail));
  return total === 0n ? { used: 0n, total: 1n } : { used, total };
}

/** a's used share is strictly below b's (a/b < c/d ⇔ a·d < c·b for positive denominators). */
export function lessUsed(a: Candidate, b: Candidate): boolean {
  const x = usedShare(a);
  const y = usedShare(b);
  return x.used * y.total < y.used * x.total;
}
