// The contract between the branch manager and the placement policies.
//
// A policy only picks: the caller (the branch manager) probes each branch
// once per call (mode, free space, read-only filesystem) and hands the
// figures over as Candidates; existence and mtimes of paths are asked
// through a Probe, so policies stay pure and unit-testable with stubs.
// Nothing here may import from src/ (dependencies point one way).
import type { MaybePromise } from './maybe.js';

/** Which family of FUSE functions is asking; it decides the eligibility filter. */
export type Category = 'create' | 'action' | 'search';

/** RW: eligible everywhere. RO: excluded from create and action. NC: excluded from create. */
export type BranchMode = 'RW' | 'RO' | 'NC';

/** One branch as a policy sees it for one call. */
export interface Candidate {
  /** Position in the branch list (list order breaks ties). */
  readonly index: number;
  /** The branch root, for messages only. */
  readonly root: string;
  readonly mode: BranchMode;
  /** Bytes that must stay free for the branch to take new files. */
  readonly minFreeSpace: number;
  /** statvfs says the filesystem is mounted read-only (ST_RDONLY). */
  readonly readOnlyFs: boolean;
  /** statvfs failed: the branch cannot take new files. */
  readonly unavailable: boolean;
  /** f_bavail * f_frsize, bytes. */
  readonly spaceAvail: number;
  /** (f_blocks - f_bfree) * f_frsize, bytes. */
  readonly spaceUsed: number;
}

/** Path questions a policy may ask about a branch. Paths are relative to the branch root, as bytes ('' is the root). */
export interface Probe {
  /** Answers at once for a branch on a local disk, through a promise for a slow one (see maybe.ts). */
  exists(c: Candidate, path: Buffer): MaybePromise<boolean>;
  /** mtime in nanoseconds (as a number of ms * 1e6 precision is enough), or undefined when the path is missing. */
  mtime(c: Candidate, path: Buffer): MaybePromise<number | undefined>;
}

export interface PolicyInput {
  readonly category: Category;
  /**
   * The path the policy is about. For create it is the PARENT directory of
   * the new entry (as mergerfs passes it); for action and search, the path itself.
   */
  readonly path: Buffer;
  /** Every branch, in list order. */
  readonly candidates: readonly Candidate[];
  readonly probe: Probe;
  /** Uniform in [0, 1); injected so tests are deterministic. */
  readonly random: () => number;
}

export interface Policy {
  /** The option value, file name and export name, all the same string. */
  readonly name: string;
  /** ep* and msp* create policies keep a file on the branch that holds its parent (rename/link rules depend on it). */
  readonly pathPreserving: boolean;
  /**
   * The chosen branches, at least one, in list order. When every branch is
   * filtered out it throws PolicyError with mergerfs's precedence: EROFS, then
   * ENOSPC, then ENOENT.
   */
  select(input: PolicyInput): MaybePromise<Candidate[]>;
  /**
   * The same choice, with "no branch qualifies" returned rather than thrown:
   * a negative LOOKUP is routine, and a throw through V8 costs more than the
   * lookup's syscalls.
   */
  trySelect(input: PolicyInput): MaybePromise<Candidate[] | Refusal>;
}

/** Why no branch qualifies (PolicyError's code). */
export type Refusal = 'EROFS' | 'ENOSPC' | 'ENOENT';
export const isRefusal = (v: unknown): v is Refusal => typeof v === 'string';

/** The choice, or the refusal thrown as the PolicyError that select() throws. */
export function unlessRefused<T extends object>(v: T | Refusal): T {
  if (isRefusal(v)) throw new PolicyError(v);
  return v;
}

/**
 * Why nothing qualified. Carries a Node-style `code`, which the daemon's
 * single errno mapper (src/sys/errno.ts) understands, so policies need no
 * import from src/.
 */
export class PolicyError extends Error {
  constructor(readonly code: Refusal) {
    // An answer, not a bug (every negative lookup ends here): no stack trace.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${code}: no branch qualifies`);
    Error.stackTraceLimit = limit;
    this.name = 'PolicyError';
  }
}
