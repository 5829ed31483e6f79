// definePolicy() and the two combinators, existingPath() (ep*) and
// mostSharedPath() (msp*).
//
// mergerfs writes every policy three times (create / action / search), and
// most of the action and search copies just call the ep-variant (the table in
// mergerfs.md 2.3: mfs action = epmfs action, ff search = first branch holding
// the path, ...). Here that rule is structural: outside create, every policy
// only considers branches that hold the path. A policy therefore only says how
// it picks, and whether create, too, needs the path (ep*, newest).
import { filterReason, modeReason, stateReason, stronger } from './filters.js';
import type { Reason } from './filters.js';
import type { NonEmpty } from './pick.js';
import { PolicyError } from './types.js';
import { unlessRefused } from './types.js';
import type { Candidate, Policy, PolicyInput, Refusal } from './types.js';
import { all, isPromise, then, type MaybePromise } from './maybe.js';

type Chosen = Candidate | readonly Candidate[] | undefined;

/**
 * Chooses among the eligible branches (never empty, in list order). One
 * branch, several (all), or undefined for "none after all" (pfrd with zero
 * total weight, newest when every mtime vanished), which reports the running
 * error as if every branch had been filtered.
 */
export type Pick = (eligible: NonEmpty<Candidate>, input: PolicyInput) => Chosen | Promise<Chosen>;

export interface PolicySpec {
  /** Option value, file name and export name. */
  readonly name: string;
  readonly pick: Pick;
  /** Default false; existingPath() and mostSharedPath() set it. */
  readonly pathPreserving?: boolean;
  /** Create, too, only considers branches holding input.path (the parent directory). Action and search always do. */
  readonly existing?: boolean;
  /**
   * The pick only ever looks at the first eligible branch, so branches are
   * probed one by one and probing stops at the first that qualifies (ff is
   * the default search policy: getattr's hot path). Otherwise all branches are
   * probed concurrently.
   */
  readonly firstOnly?: boolean;
}

/** A policy with its recipe kept, so combinators can derive variants from it. */
export interface DefinedPolicy extends Policy {
  readonly spec: PolicySpec;
}

interface Eligible {
  readonly eligible: Candidate[];
  readonly error: Reason;
}

/** Why `c` is excluded for this call (mode, then path, then state, as mergerfs orders the checks), or undefined. */
function exclusion(input: PolicyInput, needPath: boolean, c: Candidate): MaybePromise<Reason | undefined> {
  if (!needPath) return filterReason(input.category, c);
  const mode = modeReason(input.category, c);
  if (mode !== undefined) return mode;
  return then(input.probe.exists(c, input.path), (exists) => (exists ? stateReason(input.category, c) : 'ENOENT'));
}

/** The first branch that qualifies, probing from candidate `from` on and stopping there. */
function firstEligible(input: PolicyInput, needPath: boolean, from: number, error: Reason): MaybePromise<Eligible> {
  for (let i = from; i < input.candidates.length; i++) {
    const c = input.candidates[i]!;
    const why = exclusion(input, needPath, c);
    // A slow branch: carry on from here once it has answered.
    if (isPromise(why)) return why.then((w) => (w === undefined ? { eligible: [c], error } : firstEligible(input, needPath, i + 1, stronger(error, w))));
    if (why === undefined) return { eligible: [c], error };
    error = stronger(error, why);
  }
  return { eligible: [], error };
}

function eligibleBranches(input: PolicyInput, needPath: boolean, firstOnly: boolean): MaybePromise<Eligible> {
  if (firstOnly) return firstEligible(input, needPath, 0, 'ENOENT');
  return then(all(input.candidates.map((c) => exclusion(input, needPath, c))), (verdicts) => {
    let error: Reason = 'ENOENT';
    const eligible: Candidate[] = [];
    input.candidates.forEach((c, i) => {
      const why = verdicts[i];
      if (why === undefined) eligible.push(c);
      else error = stronger(error, why);
    });
    return { eligible, error };
  });
}

const isNonEmpty = <T>(xs: readonly T[]): xs is NonEmpty<T> => xs.length > 0;


function chosenList(chosen: Chosen): readonly Candidate[] {
  if (chosen === undefined) return [];
  return 'index' in chosen ? [chosen] : chosen;
}

export function definePolicy(spec: PolicySpec): DefinedPolicy {
  return Object.freeze({
    name: spec.name,
    pathPreserving: spec.pathPreserving ?? false,
    spec: Object.freeze({ ...spec }),
    select(input: PolicyInput): MaybePromise<Candidate[]> {
      return then(this.trySelect(input), unlessRefused);
    },
    trySelect(input: PolicyInput): MaybePromise<Candidate[] | Refusal> {
      const needPath = input.category !== 'create' || spec.existing === true;
      return then(eligibleBranches(input, needPath, spec.firstOnly === true), ({ eligible, error }) => {
        if (!isNonEmpty(eligible)) return error;
        return then(spec.pick(eligible, input), (picked) => {
          const chosen = chosenList(picked);
          if (chosen.length === 0) return error;
          return [...chosen];
        });
      });
    },
  });
}

/**
 * ep ("existing path"): only branches where input.path exists. For create
 * functions the caller passes the parent directory, so the new entry lands
 * next to its siblings; the policy is path-preserving (rename/link keep files
 * on their branch). For action and search this changes nothing (see above).
 */
export function existingPath(base: DefinedPolicy): DefinedPolicy {
  return definePolicy({ ...base.spec, name: `ep${base.name}`, pathPreserving: true, existing: true });
}

/**
 * The parent of a relative path as bytes: 'a/b/c' → 'a/b', 'a' → '', '' → ''
 * (trailing and doubled slashes are ignored). Always strictly shorter for a
 * non-empty path, so a walk up ends at the root.
 */
export function parentPath(path: Buffer): Buffer {
  const SLASH = 0x2f;
  let end = path.length;
  while (end > 0 && path[end - 1] === SLASH) end--; // 'a/b/' is 'a/b'
  while (end > 0 && path[end - 1] !== SLASH) end--; // drop the last component
  while (end > 0 && path[end - 1] === SLASH) end--; // and the slashes before it
  return path.subarray(0, end);
}

/**
 * msp ("most shared path"), create only: run the ep-variant on the path; if no
 * branch qualifies, on its parent, then the grandparent, and so on up to the
 * root (''), which is tried once. mergerfs stops its loop when the path equals
 * "/", which relative fusepaths never do (mergerfs.md 3.13 item 6); this walk
 * ends on the root however the path is spelled. The reported error is the
 * strongest seen at any level. Action and search are the ep-variant's.
 */
export function mostSharedPath(base: DefinedPolicy): Policy {
  const ep = existingPath(base);
  return Object.freeze({
    name: `msp${base.name}`,
    pathPreserving: true,
    trySelect(input: PolicyInput): MaybePromise<Candidate[] | Refusal> {
      return this.select(input).catch((e: unknown) => {
        if (e instanceof PolicyError) return e.code;
        throw e;
      });
    },
    async select(input: PolicyInput): Promise<Candidate[]> {
      if (input.category !== 'create') return ep.select(input);
      let error: Reason = 'ENOENT';
      let path = input.path;
      for (;;) {
        try {
          return await ep.select({ ...input, path });
        } catch (e) {
          if (!(e instanceof PolicyError)) throw e;
          error = stronger(error, e.code);
        }
        if (path.length === 0) throw new PolicyError(error);
        path = parentPath(path);
      }
    },
  });
}
