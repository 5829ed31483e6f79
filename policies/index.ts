// The policy registry (option values → policies), which FUSE functions belong
// to which category, the defaults, and FunctionPolicies: the per-function
// table that `category.X=` and `func.Y=` options edit (mergerfs.md 2.2).
import { all } from './all.js';
import { epall } from './epall.js';
import { epff } from './epff.js';
import { eplfs } from './eplfs.js';
import { eplup } from './eplup.js';
import { eplus } from './eplus.js';
import { epmfs } from './epmfs.js';
import { eppfrd } from './eppfrd.js';
import { eprand } from './eprand.js';
import { erofs } from './erofs.js';
import { ff } from './ff.js';
import { lfs } from './lfs.js';
import { lup } from './lup.js';
import { lus } from './lus.js';
import { mfs } from './mfs.js';
import { msplfs } from './msplfs.js';
import { msplus } from './msplus.js';
import { mspmfs } from './mspmfs.js';
import { msppfrd } from './msppfrd.js';
import { newest } from './newest.js';
import { pfrd } from './pfrd.js';
import { rand } from './rand.js';
import type { Category, Policy } from './types.js';

const ALL: readonly Policy[] = [
  all, epall, epff, eplfs, eplup, eplus, epmfs, eppfrd, eprand, erofs, ff,
  lfs, lup, lus, mfs, msplfs, msplus, mspmfs, msppfrd, newest, pfrd, rand,
];

/** Every policy by option value, in alphabetical order. */
export const policies: ReadonlyMap<string, Policy> = new Map(ALL.map((p) => [p.name, p]));

/** The valid option values, alphabetical (for --help, the man page and error messages). */
export const POLICY_NAMES: readonly string[] = Object.freeze([...policies.keys()]);

/** The policy for an option value; an unknown name is an Error listing the valid ones. */
export function getPolicy(name: string): Policy {
  const p = policies.get(name);
  if (p === undefined) throw new Error(`unknown policy '${name}'; valid policies: ${POLICY_NAMES.join(', ')}`);
  return p;
}

/** The policy-driven FUSE functions of each category (mergerfs src/category.hpp). */
export const CATEGORY_FUNCTIONS = Object.freeze({
  create: Object.freeze(['create', 'mkdir', 'mknod', 'symlink'] as const),
  search: Object.freeze(['access', 'getattr', 'getxattr', 'listxattr', 'open', 'readlink'] as const),
  action: Object.freeze([
    'chmod', 'chown', 'link', 'removexattr', 'rename', 'rmdir', 'setxattr', 'truncate', 'unlink', 'utimens',
  ] as const),
}) satisfies Readonly<Record<Category, readonly string[]>>;

export type FunctionName = (typeof CATEGORY_FUNCTIONS)[Category][number];

export const CATEGORIES: readonly Category[] = Object.freeze(['create', 'search', 'action'] as const);

/** All 20 function names, category by category. */
export const FUNCTION_NAMES: readonly FunctionName[] = Object.freeze(CATEGORIES.flatMap((c) => CATEGORY_FUNCTIONS[c]));

/** The category each function belongs to. */
export const CATEGORY_OF: ReadonlyMap<FunctionName, Category> = new Map(
  CATEGORIES.flatMap((cat) => CATEGORY_FUNCTIONS[cat].map((f): [FunctionName, Category] => [f, cat])),
);

/** mergerfs's defaults: create pfrd, search ff, action epall. */
export const DEFAULT_POLICY: Readonly<Record<Category, string>> = Object.freeze({ create: 'pfrd', search: 'ff', action: 'epall' });

export const isCategory = (s: string): s is Category => (CATEGORIES as readonly string[]).includes(s);
export const isFunctionName = (s: string): s is FunctionName => CATEGORY_OF.has(s as FunctionName);

/**
 * Function name → policy, starting from the defaults. Options are applied left
 * to right: `category.X=P` assigns P to every function of X (overriding any
 * earlier `func.Y=` in it), `func.Y=P` to Y alone. Every function keeps its own
 * entry, as in mergerfs. Mutable while options are parsed; clone() it to make
 * the next configuration snapshot.
 */
export class FunctionPolicies {
  readonly #table: Map<FunctionName, Policy>;

  constructor(from?: FunctionPolicies) {
    this.#table = from === undefined
      ? new Map(FUNCTION_NAMES.map((f) => [f, getPolicy(DEFAULT_POLICY[categoryOf(f)])]))
      : new Map(from.#table);
  }

  /**
   * Applies one option, `key=value` split by the caller: key is
   * `category.<create|search|action>` or `func.<function>`, value a policy
   * name. Throws an Error naming the bad part; nothing changes on error.
   */
  apply(key: string, value: string): void {
    const dot = key.indexOf('.');
    const kind = dot < 0 ? key : key.slice(0, dot);
    const target = dot < 0 ? '' : key.slice(dot + 1);
    if (kind === 'category') {
      if (!isCategory(target)) throw new Error(`unknown category '${target}' in '${key}'; valid categories: ${CATEGORIES.join(', ')}`);
      const policy = getPolicy(value);
      for (const f of CATEGORY_FUNCTIONS[target]) this.#table.set(f, policy);
    } else if (kind === 'func') {
      if (!isFunctionName(target)) {
        // func.readdir (seq|cosr|cor) is not a placement policy; the option layer handles it.
        throw new Error(`unknown function '${target}' in '${key}'; policy-driven functions: ${FUNCTION_NAMES.join(', ')}`);
      }
      this.#table.set(target, getPolicy(value));
    } else {
      throw new Error(`'${key}' is not a policy option; expected category.<category> or func.<function>`);
    }
  }

  /** The policy a function runs with. */
  get(func: FunctionName): Policy {
    return this.#table.get(func) ?? getPolicy(DEFAULT_POLICY[categoryOf(func)]);
  }

  /** An independent copy (the next configuration snapshot). */
  clone(): FunctionPolicies {
    return new FunctionPolicies(this);
  }

  /** Function name → policy name, in FUNCTION_NAMES order (for getxattr of user.mergerfs.func.* and --help). */
  entries(): [FunctionName, string][] {
    return FUNCTION_NAMES.map((f) => [f, this.get(f).name]);
  }
}

function categoryOf(f: FunctionName): Category {
  const c = CATEGORY_OF.get(f);
  if (c === undefined) throw new Error(`no category for function '${f}'`);
  return c;
}
