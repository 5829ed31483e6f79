// The `branches` option as an edit of the current list, and the default
// fsname derived from it.
//
// mergerfs reads `branches=` (and `user.mergerfs.branches` at run time) with
// an optional instruction in front (src/branches.cpp):
//   none or `=`   replace the list          `+` or `+>`  append
//   `+<`          prepend                   `-PAT[:PAT]` remove every branch whose path fnmatch()es a pattern
//   `-<`          remove the first branch   `->`         remove the last
// The instruction is the leading run of `+<>-=` characters, at most two of
// them. Positional branches on the command line are appended literally
// (appendBranches), so a branch named `-x` or `-` is fine there.
import { parseBranches, type BranchSpec } from '../union/branch-spec.js';
import { fnmatch, OptionError } from './values.js';

type Instruction = '' | '=' | '+' | '+>' | '+<' | '-' | '-<' | '->';

/** Splits `+>/a:/b` into its instruction and its operand, as mergerfs's l::split does. */
export function splitInstruction(s: string): { instr: string; operand: string } {
  let n = 0;
  while (n < s.length && '+<>-='.includes(s[n]!)) n++;
  if (n === s.length) return { instr: s.slice(0, Math.min(s.length, 2)), operand: '' };
  if (n > 1) n = 2;
  return { instr: s.slice(0, n), operand: s.slice(n) };
}

function parse(name: string, list: string, cwd: string | undefined): BranchSpec[] {
  try {
    return parseBranches(list, cwd);
  } catch (e) {
    throw new OptionError(`option ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The branch list after applying `value` to `current`. Never mutates
 * `current`. Relative branch paths are resolved against `cwd` (default: the
 * process's). Throws an OptionError naming the option on any error.
 */
export function editBranches(name: string, current: readonly BranchSpec[], value: string, cwd?: string): BranchSpec[] {
  const { instr, operand } = splitInstruction(value);
  switch (instr as Instruction) {
    case '':
    case '=':
      return parse(name, operand, cwd);
    case '+':
    case '+>':
      return [...current, ...parse(name, operand, cwd)];
    case '+<':
      return [...parse(name, operand, cwd), ...current];
    case '-': {
      const patterns = operand.split(':');
      return current.filter((b) => !patterns.some((p) => fnmatch(p, b.path)));
    }
    case '-<':
    case '->':
      if (current.length === 0) throw new OptionError(`option ${name}: '${instr}' on an empty branch list`);
      return instr === '-<' ? current.slice(1) : current.slice(0, -1);
    default:
      throw new OptionError(`option ${name}: unknown instruction '${instr}' (expected none, =, +, +>, +<, -, -< or ->)`);
  }
}

/** `current` plus the branches of `list`, taken literally (no instruction prefix): how positional branches are added. */
export function appendBranches(name: string, current: readonly BranchSpec[], list: string, cwd?: string): BranchSpec[] {
  return [...current, ...parse(name, list, cwd)];
}

/**
 * mergerfs's default fsname: the branch paths joined with `:` after dropping
 * the longest common prefix, character by character (str::remove_common_prefix_and_join):
 * `/mnt/hdd1` and `/mnt/hdd2` give `1:2`. A single branch, or branches that
 * are all the same, keep their full paths.
 */
export function defaultFsname(paths: readonly string[]): string {
  const first = paths[0];
  if (first === undefined) return '';
  let idx: number | undefined;
  for (let n = 0; n < first.length && idx === undefined; n++) {
    for (let i = 1; i < paths.length; i++) {
      const p = paths[i]!;
      if (n >= p.length || p[n] !== first[n]) {
        idx = n;
        break;
      }
    }
  }
  const cut = idx ?? 0;
  return paths.map((p) => p.slice(cut)).join(':');
}
