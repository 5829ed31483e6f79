// fuse-overlayfs's command line → what to do (issue 4 item 3). Pure: no I/O,
// paths stay as given (overlayBranchSpecs resolves them), so it is
// unit-testable and the CLI can route here when isOverlayCommandLine says so.
//
//   braidfs [-f] [-d|--debug] [-o OPTS]... [SOURCE] MOUNTPOINT   (reference overlay.md §1.1)
//   braidfs --version | -V,  braidfs --help | -h
//
// What fuse-overlayfs (C 1.10–1.16, main.c + libfuse fuse_opt.c) does, and we follow:
// - -o lists are split on commas by libfuse; `\,` is a literal comma and `\NNN`
//   an octal byte. Options may be spread over several -o flags and may come
//   before or after the positionals; `--` ends option parsing.
// - The LAST non-option argument is the mountpoint; an earlier one is the
//   mount.fuse3 "source" and is ignored (we keep it in `source`).
// - `%s` options (lowerdir, upperdir, workdir, uidmapping, ...) given twice:
//   libfuse frees the old value and keeps the new one, so the last one wins.
// - Unknown options print "unknown argument ignored: X" and never fail the
//   mount; here they become one entry each in `warnings`.
// - `workdir` is required with `upperdir` (main.c: "workdir not specified").
// - uidmapping/gidmapping: a flat colon-separated list of C:H:N triples.
// - redirect_dir accepts only `off` ("fuse-overlayfs only supports redirect_dir=off").
//
// Where we are stricter or kinder than the C code (documented choices):
// - libfuse strips the backslash of every `\X` in an -o list, so in real
//   fuse-overlayfs `lowerdir=a\:b` reaches the lowerdir splitter as `a:b`
//   and a literal colon needs `a\\:b`. The reference (§1.1/§1.2) and the
//   issue document `a\:b`; we accept both: the -o splitter keeps `\:` intact
//   (and turns `\\` into `\`, `\,` into `,`), and the lowerdir splitter then
//   reads `\:` as a colon and `\\` as a backslash.
// - Double-quoted values (`context="a:b:c1,c2"`, as containers/storage passes
//   under SELinux, §2.3) keep their commas; the Rust rewrite accepts this, the
//   C one splits it and ignores the pieces.
// - Bad numbers fail with a message naming the option and what it accepts,
//   instead of libfuse's "invalid parameter" or strtod's silent 0.
// - xattr_permissions other than 0|1|2 fails even without upperdir (C checks
//   it only when there is an upper layer).
import path from 'node:path';
import type { BranchSpec } from '../union/branch-spec.js';
import { OptionError } from './values.js';

export { OptionError } from './values.js';

/** One uidmapping/gidmapping triple: ids `inside..inside+count-1` on disk show as `outside..` (reference §1.2). */
export interface IdMapping {
  /** The id as stored in the layers (fuse-overlayfs's "container" id, C). */
  inside: number;
  /** The id the mount shows for it (the "host" id, H). */
  outside: number;
  count: number;
}

export interface OverlayMountFlags {
  ro: boolean;
  nosuid: boolean;
  nodev: boolean;
  noexec: boolean;
  noatime: boolean;
  nodiratime: boolean;
  allowOther: boolean;
  allowRoot: boolean;
  defaultPermissions: boolean;
}

export interface OverlayMount {
  kind: 'mount';
  /** The last non-option argument, as given. */
  mountpoint: string;
  /** The non-option argument before the mountpoint (mount.fuse3 form), as given; fuse-overlayfs ignores it. */
  source?: string;
  /** Top first, as given, escapes removed. */
  lowerdirs: string[];
  upperdir?: string;
  workdir?: string;
  /** No upperdir (writes get EROFS), or `ro` was given. */
  readOnly: boolean;
  /** upper (RW) first, then every lowerdir (RO), top first. Copy-up on, search ff, create into upper. */
  branches: Array<{ path: string; mode: 'RW' | 'RO' }>;
  uidmapping: IdMapping[];
  gidmapping: IdMapping[];
  /** squash_to_uid / squash_to_gid take precedence over squash_to_root. */
  squash: { toRoot: boolean; toUid?: number; toGid?: number };
  staticNlink: boolean;
  noacl: boolean;
  /** false with fsync=0 (or sync=0) or volatile. */
  fsync: boolean;
  volatile: boolean;
  xattrPermissions: 0 | 1 | 2;
  /** noxattrs=1: every xattr operation answers ENOSYS. */
  noxattrs: boolean;
  /** writeback=0|1 (default 1): use the kernel writeback cache. */
  writeback: boolean;
  /** Kernel entry/attr cache timeout in seconds (fuse-overlayfs's default is 1e9 when absent). */
  timeout?: number;
  /** Mount words as given, last one wins. The caller adds fuse-overlayfs's implicit defaults (§1.1). */
  mountFlags: OverlayMountFlags;
  /** -f (also implied by -d). */
  foreground: boolean;
  /** -d, --debug or -o debug. */
  debug: boolean;
  /** Known fuse-overlayfs/libfuse options braidfs accepts and does not act on (threaded, plugins, context, ...), once each. */
  ignored: string[];
  /** One per unknown option or flag, in the words fuse-overlayfs uses ("unknown argument ignored: X"). */
  warnings: string[];
  /** The unknown -o options themselves, as given (the CLI applies those that are braidfs options). */
  unknownOptions: string[];
}

export type OverlayCommand = { kind: 'version' } | { kind: 'help' } | OverlayMount;

// --- splitting ----------------------------------------------------------------------

/**
 * Splits one -o list on unescaped, unquoted commas. `\,` → `,`, `\\` → `\`,
 * `\NNN` (octal, as libfuse) → that byte; any other `\X` is kept as `\X` so
 * the lowerdir splitter can read `\:`. Double quotes keep commas inside them
 * and are removed from a value that is quoted as a whole (`context="a,b"`).
 */
export function splitOverlayOptions(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      const next = s[i + 1]!;
      const octal = /^[0-3][0-7]{2}/.exec(s.slice(i + 1, i + 4));
      if (octal) {
        cur += String.fromCharCode(parseInt(octal[0], 8));
        i += 3;
      } else if (next === ',' || next === '\\') {
        cur += next;
        i++;
      } else {
        cur += ch + next;
        i++;
      }
    } else if (ch === '"') {
      quoted = !quoted;
      cur += ch;
    } else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.filter((o) => o.length > 0).map(unquoteValue);
}

function unquoteValue(opt: string): string {
  const eq = opt.indexOf('=');
  if (eq < 0) return opt;
  const v = opt.slice(eq + 1);
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? opt.slice(0, eq + 1) + v.slice(1, -1) : opt;
}

/**
 * Splits a lowerdir value on unescaped colons: `\:` is a colon inside a path,
 * `\\` a backslash; a backslash before anything else stays as it is. Empty
 * items (a doubled, leading or trailing colon) are an error.
 */
export function splitLowerdirs(value: string, name = 'lowerdir'): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const next = value[i + 1];
    if (ch === '\\' && (next === ':' || next === '\\')) {
      cur += next;
      i++;
    } else if (ch === ':') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  const empty = out.findIndex((p) => p === '');
  if (value === '') throw new OptionError(`option ${name} wants a colon-separated list of directories, top first (DIR[:DIR...]), not an empty value`);
  if (empty >= 0) {
    throw new OptionError(`option ${name}: empty directory at position ${empty + 1} in '${value}' (check for a doubled, leading or trailing ':'; write '\\:' for a colon inside a path)`);
  }
  return out;
}

// --- values -------------------------------------------------------------------------

const ID_MAX = 2 ** 32 - 1;

function wantValue(name: string, v: string | undefined, what: string): string {
  if (v === undefined || v === '') throw new OptionError(`option ${name} wants ${what}`);
  return v;
}

function decimal(name: string, v: string | undefined, min: number, max: number, what: string): number {
  const s = wantValue(name, v, what);
  if (!/^[-+]?\d+$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) < min || Number(s) > max) {
    throw new OptionError(`option ${name} wants ${what}, not '${s}'`);
  }
  return Number(s);
}

/** fuse-overlayfs's `%d` switches (fsync=, writeback=, noxattrs=, ...): any integer, non-zero is on. */
function intSwitch(name: string, v: string | undefined): boolean {
  return decimal(name, v, -(2 ** 31), 2 ** 31 - 1, '0|1 (an integer; non-zero means on)') !== 0;
}

/** A value-less fuse-overlayfs flag (static_nlink, noacl, ...); `=1`/`=0` are tolerated. */
function flag(name: string, v: string | undefined): boolean {
  if (v === undefined) return true;
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new OptionError(`option ${name} takes no value (or 0|1), not '${v}'`);
}

/** `C:H:N[:C:H:N...]`, non-negative decimal ids, N >= 1, every range within 32 bits. */
export function parseIdMapping(name: string, v: string | undefined): IdMapping[] {
  const syntax = 'colon-separated triples CONTAINER:HOST:COUNT[:CONTAINER:HOST:COUNT...] of non-negative integers (e.g. 0:1000:1:1:100000:65536)';
  const s = wantValue(name, v, syntax);
  const parts = s.split(':');
  if (parts.length % 3 !== 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new OptionError(`option ${name} wants ${syntax}, not '${s}'`);
  }
  const out: IdMapping[] = [];
  for (let i = 0; i < parts.length; i += 3) {
    const [inside, outside, count] = [Number(parts[i]), Number(parts[i + 1]), Number(parts[i + 2])];
    if (count < 1) throw new OptionError(`option ${name}: the count of triple ${i / 3 + 1} in '${s}' must be at least 1`);
    if (inside + count - 1 > ID_MAX || outside + count - 1 > ID_MAX) {
      throw new OptionError(`option ${name}: triple ${i / 3 + 1} in '${s}' goes past the largest id ${ID_MAX}`);
    }
    out.push({ inside, outside, count });
  }
  return out;
}

function timeoutValue(name: string, v: string | undefined): number {
  const s = wantValue(name, v, 'a number of seconds >= 0 (fractions allowed)');
  const n = Number(s);
  if (!/^\s*\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(s) || !Number.isFinite(n) || n < 0) {
    throw new OptionError(`option ${name} wants a number of seconds >= 0 (fractions allowed), not '${s}'`);
  }
  return n;
}

// --- the option table ---------------------------------------------------------------

interface Draft {
  lowerdir?: string;
  upperdir?: string;
  workdir?: string;
  uidmapping: IdMapping[];
  gidmapping: IdMapping[];
  squashToRoot: boolean;
  squashToUid?: number;
  squashToGid?: number;
  staticNlink: boolean;
  noacl: boolean;
  fsync: boolean;
  volatile: boolean;
  xattrPermissions: 0 | 1 | 2;
  noxattrs: boolean;
  writeback: boolean;
  timeout?: number;
  flags: OverlayMountFlags;
  debug: boolean;
  ignored: string[];
  warnings: string[];
  unknown: string[];
}

type Apply = (d: Draft, v: string | undefined, name: string) => void;

function setFlag(key: keyof OverlayMountFlags, to: boolean): Apply {
  return (d, v, n) => {
    if (v !== undefined) throw new OptionError(`option ${n} takes no value, not '${v}'`);
    d.flags[key] = to;
  };
}

function ignore(check?: (n: string, v: string | undefined) => unknown): Apply {
  return (d, v, n) => {
    check?.(n, v);
    if (!d.ignored.includes(n)) d.ignored.push(n);
  };
}

/** Options that need no note: libfuse/mount(8) words braidfs handles itself or that mean nothing here. */
const silent: Apply = () => undefined;

const SIZE = (n: string, v: string | undefined): number => decimal(n, v, 0, 2 ** 31 - 1, 'a number of bytes');

const OPTIONS: ReadonlyMap<string, Apply> = new Map<string, Apply>([
  // fuse-overlayfs's own options (reference §1.2; main.c ovl_opts).
  ['lowerdir', (d, v, n) => void (d.lowerdir = wantValue(n, v, 'a colon-separated list of directories, top first (DIR[:DIR...])'))],
  ['upperdir', (d, v, n) => void (d.upperdir = wantValue(n, v, 'a directory'))],
  ['workdir', (d, v, n) => void (d.workdir = wantValue(n, v, 'a directory on the same filesystem as upperdir'))],
  ['uidmapping', (d, v, n) => void (d.uidmapping = parseIdMapping(n, v))],
  ['gidmapping', (d, v, n) => void (d.gidmapping = parseIdMapping(n, v))],
  ['squash_to_root', (d, v, n) => void (d.squashToRoot = flag(n, v))],
  ['squash_to_uid', (d, v, n) => void (d.squashToUid = decimal(n, v, 0, ID_MAX - 1, `a uid from 0 to ${ID_MAX - 1}`))],
  ['squash_to_gid', (d, v, n) => void (d.squashToGid = decimal(n, v, 0, ID_MAX - 1, `a gid from 0 to ${ID_MAX - 1}`))],
  ['static_nlink', (d, v, n) => void (d.staticNlink = flag(n, v))],
  ['noacl', (d, v, n) => void (d.noacl = flag(n, v))],
  ['fsync', (d, v, n) => void (d.fsync = intSwitch(n, v))],
  ['sync', (d, v, n) => void (d.fsync = intSwitch(n, v))], // the Rust rewrite's alias
  ['volatile', (d, v, n) => void (d.volatile = flag(n, v))],
  [
    'xattr_permissions',
    (d, v, n) => {
      const s = wantValue(n, v, '0|1|2 (0: off, 1: security.fuseoverlayfs.override_stat, 2: user.containers.override_stat)');
      if (s !== '0' && s !== '1' && s !== '2') {
        throw new OptionError(`option ${n} wants 0|1|2 (0: off, 1: security.fuseoverlayfs.override_stat, 2: user.containers.override_stat), not '${s}'`);
      }
      d.xattrPermissions = Number(s) as 0 | 1 | 2;
    },
  ],
  ['noxattrs', (d, v, n) => void (d.noxattrs = intSwitch(n, v))],
  ['writeback', (d, v, n) => void (d.writeback = intSwitch(n, v))],
  ['timeout', (d, v, n) => void (d.timeout = timeoutValue(n, v))],
  [
    'redirect_dir',
    (d, v, n) => {
      if (v !== 'off') throw new OptionError(`option ${n}: fuse-overlayfs only supports redirect_dir=off, not '${v ?? ''}'`);
      ignore()(d, v, n);
    },
  ],
  ['threaded', ignore(intSwitch)],
  ['fast_ino', ignore(intSwitch)],
  ['fast_ino_check', ignore(intSwitch)],
  ['plugins', ignore()],
  ['context', ignore()],
  ['xino', ignore((n, v) => {
    if (v !== 'off' && v !== 'auto' && v !== 'on') throw new OptionError(`option ${n} wants off|auto|on, not '${v ?? ''}'`);
  })],
  ['ino32_t', ignore(flag)],
  ['debug', (d, v, n) => void (d.debug = flag(n, v))],
  // Standard mount words (§1.1) and what mount.fuse3 / fstab hand over.
  ['ro', setFlag('ro', true)],
  ['rw', setFlag('ro', false)],
  ['nosuid', setFlag('nosuid', true)],
  ['suid', setFlag('nosuid', false)],
  ['nodev', setFlag('nodev', true)],
  ['dev', setFlag('nodev', false)],
  ['noexec', setFlag('noexec', true)],
  ['exec', setFlag('noexec', false)],
  ['noatime', setFlag('noatime', true)],
  ['atime', setFlag('noatime', false)],
  ['relatime', setFlag('noatime', false)],
  ['strictatime', setFlag('noatime', false)],
  ['nodiratime', setFlag('nodiratime', true)],
  ['diratime', setFlag('nodiratime', false)],
  ['allow_other', setFlag('allowOther', true)],
  ['allow_root', setFlag('allowRoot', true)],
  ['default_permissions', setFlag('defaultPermissions', true)],
  ['lazytime', silent],
  ['nolazytime', silent],
  ['sync_read', silent],
  ['async', silent],
  ['dirsync', silent],
  ['defaults', silent],
  ['auto', silent],
  ['noauto', silent],
  ['user', silent],
  ['nouser', silent],
  ['users', silent],
  ['nofail', silent],
  ['_netdev', silent],
  ['kernel_cache', silent],
  ['auto_cache', silent],
  ['splice_read', silent],
  ['splice_write', silent],
  ['splice_move', silent],
  ['no_splice_read', silent],
  ['no_splice_write', silent],
  ['no_splice_move', silent],
  ['max_write', (_d, v, n) => void SIZE(n, v)],
  ['max_read', (_d, v, n) => void SIZE(n, v)],
  ['max_readahead', (_d, v, n) => void SIZE(n, v)],
  ['fsname', silent],
  ['subtype', silent],
]);

function applyOverlayOption(d: Draft, opt: string): void {
  const eq = opt.indexOf('=');
  const name = eq < 0 ? opt : opt.slice(0, eq);
  const value = eq < 0 ? undefined : opt.slice(eq + 1);
  const apply = OPTIONS.get(name) ?? (name.startsWith('x-') || name === 'comment' ? silent : undefined);
  if (apply === undefined) {
    d.warnings.push(`unknown argument ignored: ${opt}`);
    d.unknown.push(opt);
    return;
  }
  apply(d, value, name);
}

// --- the command line ---------------------------------------------------------------

/** Every -o list of argv (up to `--`), split. */
function optionLists(argv: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '-o') {
      const v = argv[++i];
      if (v !== undefined) out.push(splitOverlayOptions(v));
    } else if (a.startsWith('-o')) out.push(splitOverlayOptions(a.slice(2)));
  }
  return out;
}

/** True when some -o list has `lowerdir=`, `upperdir=` or `workdir=`: the fuse-overlayfs command line, not the mergerfs one. */
export function isOverlayCommandLine(argv: readonly string[]): boolean {
  return optionLists(argv).some((list) => list.some((o) => /^(lowerdir|upperdir|workdir)=/.test(o)));
}

/**
 * Parses fuse-overlayfs's command line. Throws OptionError for a bad value
 * of a known option, a missing lowerdir or mountpoint, or upperdir without
 * workdir; unknown options and flags only add to `warnings`.
 */
export function parseOverlayArgs(argv: readonly string[]): OverlayCommand {
  // libfuse parses everything before acting on -h/-V; we answer them first so
  // `--version` works whatever else is on the line (podman info runs it bare).
  const flagsPart = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (flagsPart.some((a) => a === '-h' || a === '--help')) return { kind: 'help' };
  if (flagsPart.some((a) => a === '-V' || a === '--version')) return { kind: 'version' };

  const d: Draft = {
    uidmapping: [],
    gidmapping: [],
    squashToRoot: false,
    staticNlink: false,
    noacl: false,
    fsync: true,
    volatile: false,
    xattrPermissions: 0,
    noxattrs: false,
    writeback: true,
    flags: { ro: false, nosuid: false, nodev: false, noexec: false, noatime: false, nodiratime: false, allowOther: false, allowRoot: false, defaultPermissions: false },
    debug: false,
    ignored: [],
    warnings: [],
    unknown: [],
  };
  const positional: string[] = [];
  let foreground = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-o') {
      const v = argv[++i];
      if (v === undefined) throw new OptionError('-o needs a value: -o OPTION[,OPTION...]');
      for (const o of splitOverlayOptions(v)) applyOverlayOption(d, o);
    } else if (a.startsWith('-o')) {
      for (const o of splitOverlayOptions(a.slice(2))) applyOverlayOption(d, o);
    } else if (a === '-f') foreground = true;
    else if (a === '-d' || a === '--debug') d.debug = true;
    else if (a === '-s') {
      // libfuse: single-threaded loop, braidfs's only kind.
    } else if (a.startsWith('-') && a.length > 1) d.warnings.push(`unknown argument ignored: ${a}`);
    else positional.push(a);
  }
  if (d.debug) foreground = true;

  const mountpoint = positional[positional.length - 1];
  if (mountpoint === undefined) throw new OptionError('no mountpoint specified: braidfs -o lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR] [SOURCE] MOUNTPOINT');
  for (const extra of positional.slice(0, -2)) d.warnings.push(`unknown argument ignored: ${extra}`);
  const source = positional.length >= 2 ? positional[positional.length - 2] : undefined;

  if (d.lowerdir === undefined) throw new OptionError('option lowerdir is required: -o lowerdir=DIR[:DIR...] (top first)');
  const lowerdirs = splitLowerdirs(d.lowerdir);
  if (d.upperdir !== undefined && d.workdir === undefined) {
    throw new OptionError(`option upperdir needs option workdir too (a directory on the same filesystem as upperdir '${d.upperdir}'); fuse-overlayfs: "workdir not specified"`);
  }

  const branches: Array<{ path: string; mode: 'RW' | 'RO' }> = [
    ...(d.upperdir !== undefined ? [{ path: d.upperdir, mode: 'RW' as const }] : []),
    ...lowerdirs.map((p) => ({ path: p, mode: 'RO' as const })),
  ];
  const squash: OverlayMount['squash'] = { toRoot: d.squashToRoot };
  if (d.squashToUid !== undefined) squash.toUid = d.squashToUid;
  if (d.squashToGid !== undefined) squash.toGid = d.squashToGid;

  const out: OverlayMount = {
    kind: 'mount',
    mountpoint,
    lowerdirs,
    readOnly: d.upperdir === undefined || d.flags.ro,
    branches,
    uidmapping: d.uidmapping,
    gidmapping: d.gidmapping,
    squash,
    staticNlink: d.staticNlink,
    noacl: d.noacl,
    fsync: d.fsync && !d.volatile,
    volatile: d.volatile,
    xattrPermissions: d.xattrPermissions,
    noxattrs: d.noxattrs,
    writeback: d.writeback,
    mountFlags: d.flags,
    foreground,
    debug: d.debug,
    ignored: d.ignored,
    warnings: d.warnings,
    unknownOptions: d.unknown,
  };
  if (source !== undefined) out.source = source;
  if (d.upperdir !== undefined) out.upperdir = d.upperdir;
  if (d.workdir !== undefined) out.workdir = d.workdir;
  if (d.timeout !== undefined) out.timeout = d.timeout;
  return out;
}

/** The branches as BranchSpecs (upper RW first, then the lowers RO), paths resolved against `cwd`. */
export function overlayBranchSpecs(cmd: OverlayMount, cwd: string = process.cwd()): BranchSpec[] {
  return cmd.branches.map((b) => ({ path: path.resolve(cwd, b.path), mode: b.mode, minFreeSpace: undefined, fromGlob: undefined }));
}
