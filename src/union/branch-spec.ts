// The branch list as mergerfs writes it: `/mnt/a=RW:/mnt/b=RO,10G:/mnt/hdd*`.
//
// Syntax (mergerfs src/branches.cpp, reference §2.1): colon-separated items,
// each `PATH[=MODE[,MINFREESPACE]]`, split on the LAST `=` (str::rsplit1) so a
// path may itself contain `=` as long as the mode is then given explicitly
// (`/mnt/a=b=RW`). MODE is RW (default), RO or NC, case-sensitive; the size is
// read by parseSize and overrides the global minfreespace for that branch.
//
// Globs: mergerfs glob(3)-expands every item at mount time (GLOB_NOCHECK) and
// skips matches that are not directories; a pattern that matches nothing is
// kept literally with a syslog notice. We expand items containing `*`, `?` or
// `[` with glob(3)'s rules (no braces, no extglobs, no globstar, `*` does not
// match a leading dot, backslash escapes) by walking the filesystem from the
// pattern's static prefix, and flag a literal kept for an empty match so the
// caller can log it. Unlike mergerfs we do not realpath() the results: paths
// stay strings here, resolved to absolute with path.resolve, and the branch
// manager opens them (following symlinks) when the set is built.
//
// Parsing touches the filesystem only to expand globs.
import { readdirSync, statSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { Minimatch, unescape } from 'minimatch';
import type { MinimatchOptions } from 'minimatch';
import type { BranchMode } from '../../policies/types.js';
import { formatSize, parseSize } from './size.js';

export interface BranchSpec {
  /** Absolute path of the branch root. */
  path: string;
  mode: BranchMode;
  /** Per-branch minfreespace in bytes; undefined = use the global option. */
  minFreeSpace: number | undefined;
  /** The pattern as written when this branch came from a glob item, else undefined. */
  fromGlob: string | undefined;
  /**
   * Set when a glob item matched no directory and its pattern was kept as a
   * literal path (mergerfs does the same and logs a notice; so should the caller).
   */
  unmatchedGlob?: true;
}

const MODES: readonly BranchMode[] = ['RW', 'RO', 'NC'];

/** glob(3) semantics, not shell-extended ones. */
const GLOB_OPTIONS: MinimatchOptions = {
  dot: false,
  nobrace: true,
  noext: true,
  noglobstar: true,
  nocomment: true,
  nonegate: true,
};

function isMode(s: string): s is BranchMode {
  return (MODES as readonly string[]).includes(s);
}

/** The characters that make an item a glob (the brief's and glob(3)'s set). */
export function isGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/**
 * Parses a mergerfs branch string into branches, in order, with globs
 * expanded against the filesystem. Relative paths are resolved against `cwd`.
 * Throws an Error naming the offending item on any syntax error.
 */
export function parseBranches(s: string, cwd: string = process.cwd()): BranchSpec[] {
  if (s === '') throw new Error('empty branch list: expected PATH[=MODE[,MINFREESPACE]] items separated by ":"');
  const base = path.resolve(cwd);
  const out: BranchSpec[] = [];
  s.split(':').forEach((item, i) => {
    if (item === '') throw new Error(`empty branch at position ${i + 1} in '${s}' (check for a doubled, leading or trailing ':')`);
    const { pattern, mode, minFreeSpace } = parseItem(item);
    if (!isGlob(pattern)) {
      out.push({ path: path.resolve(base, pattern), mode, minFreeSpace, fromGlob: undefined });
      return;
    }
    const matches = expandGlob(path.isAbsolute(pattern) ? pattern : `${base}/${pattern}`);
    if (matches.length === 0) {
      out.push({ path: path.resolve(base, pattern), mode, minFreeSpace, fromGlob: pattern, unmatchedGlob: true });
      return;
    }
    for (const p of matches) out.push({ path: p, mode, minFreeSpace, fromGlob: pattern });
  });
  return out;
}

function parseItem(item: string): { pattern: string; mode: BranchMode; minFreeSpace: number | undefined } {
  const eq = item.lastIndexOf('=');
  if (eq === -1) return { pattern: item, mode: 'RW', minFreeSpace: undefined };
  const pattern = item.slice(0, eq);
  const options = item.slice(eq + 1);
  if (pattern === '') throw new Error(`branch '${item}' has an empty path`);
  const parts = options.split(',');
  const [mode, size, ...extra] = parts;
  if (mode === undefined || !isMode(mode)) {
    throw new Error(
      `invalid branch mode '${mode ?? ''}' in '${item}': expected RW, RO or NC (case-sensitive); ` +
        `a path containing '=' needs an explicit mode, e.g. '${item}=RW'`,
    );
  }
  if (extra.length > 0) throw new Error(`invalid branch options '${options}' in '${item}': expected MODE[,MINFREESPACE]`);
  let minFreeSpace: number | undefined;
  if (size !== undefined) {
    try {
      minFreeSpace = parseSize(size);
    } catch (e) {
      throw new Error(`invalid minfreespace in branch '${item}': ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { pattern, mode, minFreeSpace };
}

/**
 * Directories matching an absolute glob pattern, sorted. Walks one path
 * segment at a time from the static prefix: literal segments are appended
 * without I/O, magic ones list the current directories and keep the entries
 * that match and are directories (symlinks to directories count, as with
 * glob(3)). Unreadable or vanished directories are skipped silently.
 */
function expandGlob(pattern: string): string[] {
  let current = ['/'];
  for (const seg of pattern.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      current = [...new Set(current.map((d) => path.dirname(d)))];
      continue;
    }
    const mm = new Minimatch(seg, GLOB_OPTIONS);
    if (!mm.hasMagic()) {
      const name = unescape(seg);
      current = current.map((d) => path.join(d, name));
      continue;
    }
    const next: string[] = [];
    for (const dir of current) {
      for (const ent of listDir(dir)) {
        if (!mm.match(ent.name)) continue;
        const full = path.join(dir, ent.name);
        if (ent.isDirectory() || (ent.isSymbolicLink() && isDirectory(full))) next.push(full);
      }
    }
    current = next;
    if (current.length === 0) return [];
  }
  // Literal segments after the last magic one were never checked.
  const found = [...new Set(current)].filter(isDirectory);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function listDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The branch string for a list of branches, mergerfs style: every item with
 * its mode, and `,SIZE` when it has its own minfreespace
 * (`/a=RW:/b=RO,10G`). parseBranches reads it back to the same list (globs
 * appear as the paths they expanded to).
 */
export function formatBranches(specs: readonly Pick<BranchSpec, 'path' | 'mode' | 'minFreeSpace'>[]): string {
  return specs
    .map((b) => {
      if (b.path === '') throw new Error('formatBranches: a branch has an empty path');
      if (b.path.includes(':')) throw new Error(`formatBranches: branch path '${b.path}' contains ':', which the branch syntax cannot express`);
      return `${b.path}=${b.mode}${b.minFreeSpace === undefined ? '' : `,${formatSize(b.minFreeSpace)}`}`;
    })
    .join(':');
}
