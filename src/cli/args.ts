// Command line → what to do. No I/O beyond what options themselves need
// (glob expansion of branches, `-o config=FILE`), so it is unit-testable.
//
// The shapes mergerfs accepts (reference §2.1):
//   braidfs [-o OPTS] BRANCHES MOUNTPOINT          BRANCHES = PATH[=RW|RO|NC[,SIZE]]:…
//   braidfs [-o OPTS] BRANCH1 BRANCH2 … MOUNTPOINT  (the positionals before the last, joined by ':')
//   braidfs -o branches=BRANCHES[,…] MOUNTPOINT
//   braidfs -o branches=…,mountpoint=MOUNTPOINT
// Options apply left to right; positional branches are appended after them
// (mergerfs adds each with `+>`), and flags may come anywhere.
import { resolve } from 'node:path';
import { applyOption, defaultFsname, defaults, OptionError, splitOptions, type Config } from '../config/options.js';
import { appendBranches } from '../config/branch-list.js';
import { formatBranches, type BranchSpec } from '../union/branch-spec.js';

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'mount';
      /**
       * The branch list as a string parseBranches reads back: the positionals
       * joined by ':' as given, or, when -o branches= was used, the resulting
       * list formatted with modes and sizes. config.branches is the parsed list.
       */
      source: string;
      /** As given; config.mountpoint has it resolved. */
      mountpoint: string;
      foreground: boolean;
      /** Branches, mountpoint and fsname filled in. */
      config: Config;
    };

function formatted(branches: readonly BranchSpec[]): string {
  try {
    return formatBranches(branches);
  } catch {
    return branches.map((b) => b.path).join(':');
  }
}

export function parseArgs(argv: readonly string[]): Command {
  const config: Config = { ...defaults };
  const positional: string[] = [];
  let foreground = false;
  const applyList = (s: string): void => {
    for (const o of splitOptions(s)) applyOption(config, o);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { kind: 'help' };
    if (a === '-V' || a === '-v' || a === '--version') return { kind: 'version' };
    if (a === '-f') foreground = true;
    else if (a === '-d') {
      config.debug = true;
      foreground = true;
    } else if (a === '-o') {
      const v = argv[++i];
      if (v === undefined) throw new OptionError('-o needs a value');
      applyList(v);
    } else if (a.startsWith('-o')) {
      applyList(a.slice(2));
    } else if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    } else if (a.startsWith('-') && a.length > 1) {
      throw new OptionError(`unknown flag '${a}' (see braidfs --help)`);
    } else positional.push(a);
  }
  if (config.debug) foreground = true;

  // The last positional is the mountpoint unless -o mountpoint= gave one.
  let mountpoint: string;
  let branchArgs: string[];
  if (config.mountpoint !== undefined) {
    mountpoint = config.mountpoint;
    branchArgs = positional;
  } else {
    const last = positional[positional.length - 1];
    if (last === undefined || (positional.length < 2 && config.branches.length === 0)) {
      throw new OptionError(`expected BRANCHES and MOUNTPOINT, got ${positional.length} argument(s) (see braidfs --help)`);
    }
    mountpoint = last;
    branchArgs = positional.slice(0, -1);
    config.mountpoint = resolve(mountpoint);
  }
  const joined = branchArgs.join(':');
  const fromOptions = config.branches.length > 0;
  if (branchArgs.length > 0) config.branches = appendBranches('BRANCHES', config.branches, joined);
  if (config.branches.length === 0) throw new OptionError('no branches given (BRANCHES MOUNTPOINT, or -o branches=)');
  const mp = config.mountpoint;
  const clash = config.branches.find((b) => b.path === mp);
  if (clash) throw new OptionError(`branches can not include the mountpoint: ${clash.path}`);
  config.fsname ??= defaultFsname(config.branches.map((b) => b.path));
  const source = fromOptions ? formatted(config.branches) : joined;
  return { kind: 'mount', source, mountpoint, foreground, config };
}
