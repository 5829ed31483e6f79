// The option table: the one source for the parser, --help, the man page and
// the runtime-control xattr list (user.braidfs.<name> on /.braidfs). Each
// entry says how to read its value, how to show the current one, whether it
// may change while mounted, and what it means; `-o` strings are split here
// and nowhere else.
//
// Names follow mergerfs 2.42 (reference §2.4). Lookups treat `_` and `-` as
// the same character, as mergerfs does, so `cache.negative_entry`,
// `statfs_ignore` and `use_ino` all work. Options applied left to right, so
// a later `category.create=` overrides an earlier `func.mkdir=`. mergerfs
// options that mean nothing to braidfs live in compat.ts: accepted, listed
// in Config.ignored for the caller to log once, never refused.
import type { IdMapping } from './overlay-args.js';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATEGORIES, CATEGORY_FUNCTIONS, CATEGORY_OF, DEFAULT_POLICY, FUNCTION_NAMES, FunctionPolicies, POLICY_NAMES, type FunctionName } from '../../policies/index.js';
import type { Category } from '../../policies/types.js';
import { formatBranches, type BranchSpec } from '../union/branch-spec.js';
import { DEFAULT_INODECALC, INODECALC_MODES, type InodeCalcMode } from '../union/inodecalc.js';
import { formatSize } from '../union/size.js';
import { editBranches } from './branch-list.js';
import { compatOptions } from './compat.js';
import { readConfigFile } from './config-file.js';
/** readdirplus: attributes with listings always, never, or as walks use them (ops/plus-advisor.ts). */
export type ReaddirplusMode = 'auto' | 'true' | 'false';

import { bool, integer, noValue, normalizeName, oneOf, OptionError, ReadOnlyOptionError, seconds, size, text, UnknownOptionError, withIgnored } from './values.js';

export { OptionError, ReadOnlyOptionError, UnknownOptionError } from './values.js';
export { defaultFsname } from './branch-list.js';

export type PassthroughIo = 'off' | 'ro' | 'wo' | 'rw';
export const STATFS_MODES = ['base', 'full'] as const;
export const STATFS_IGNORE = ['none', 'ro', 'nc'] as const;
export const LINK_EXDEV = ['passthrough', 'rel-symlink', 'abs-base-symlink', 'abs-pool-symlink'] as const;
export const RENAME_EXDEV = ['passthrough', 'rel-symlink', 'abs-symlink'] as const;
export const XATTR_MODES = ['passthrough', 'noattr', 'nosys'] as const;
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const CACHE_FILES = ['off', 'partial', 'full', 'auto-full', 'per-process'] as const;

/** One `category.X=P` or `func.Y=P`, key normalized (`func.getattr`), in the order given. */
export type FuncOverride = readonly [key: string, policy: string];

/** What fuse-overlayfs's command line adds to a pool (config/overlay-args.ts). */
export interface OverlaySettings {
  /** WORKDIR; copy-ups are built in WORKDIR/work. Absent for a read-only mount. */
  workdir?: string;
  upperdir?: string;
  uidmapping: readonly IdMapping[];
  gidmapping: readonly IdMapping[];
  squash: { toRoot: boolean; toUid?: number; toGid?: number };
  staticNlink: boolean;
  fsync: boolean;
  /** xattr_permissions: owner and mode kept in an xattr (1: security.fuseoverlayfs.*, 2: user.containers.*). */
  xattrPermissions: 0 | 1 | 2;
  /** noxattrs=1: every xattr operation answers ENOSYS. */
  noxattrs: boolean;
}

export interface Config {
  // --- the pool
  /** The branches, in order (globs expanded, paths absolute). */
  branches: readonly BranchSpec[];
  /** Absolute; set by parseArgs or `-o mountpoint=`. */
  mountpoint: string | undefined;
  /** Bytes a branch must keep free to take new files, unless the branch says otherwise. */
  minFreeSpace: number;
  /** Seconds to wait at mount for branches to be mounted (0: do not wait). */
  branchesMountTimeout: number;
  /** Fail the mount when branchesMountTimeout expires (else go on with what is there). */
  branchesMountTimeoutFail: boolean;
  /** category.X / func.Y in order; functionPolicies(config) replays them onto the defaults. */
  funcOverrides: readonly FuncOverride[];
  /** Create policy that picks a new branch for a file when a write fails with ENOSPC/EDQUOT; false: off. */
  moveonenospc: false | string;
  ignorepponrename: boolean;
  /** Copy-on-write: a change to a file on an RO branch copies it up to a writable one; removal leaves a whiteout. */
  cow: boolean;
  inodecalc: InodeCalcMode;
  statfs: (typeof STATFS_MODES)[number];
  statfsIgnore: (typeof STATFS_IGNORE)[number];
  /** Seconds branch free-space figures are reused for policies. */
  cacheStatfs: number;
  linkExdev: (typeof LINK_EXDEV)[number];
  renameExdev: (typeof RENAME_EXDEV)[number];
  xattr: (typeof XATTR_MODES)[number];
  securityCapability: boolean;
  // --- caching and I/O
  passthroughIo: PassthroughIo;
  cacheEntry: number;
  cacheAttr: number;
  cacheNegativeEntry: number;
  cacheFiles: (typeof CACHE_FILES)[number];
  /** Process names (comm) whose opens use the page cache under cache.files=per-process. */
  cacheFilesProcessNames: readonly string[];
  cacheWriteback: boolean;
  cacheSymlinks: boolean;
  cacheReaddir: boolean;
  /** Answer FUSE_STATX (birth time); off, the kernel serves statx from its attribute cache. */
  statx: boolean;
  /** Offer READDIRPLUS (names with attributes) to the kernel. */
  readdirplus: ReaddirplusMode;
  /** HANDLE_KILLPRIV_V2: the daemon clears suid/sgid; the kernel no longer asks for security.capability before each write. */
  handleKillprivV2: boolean;
  /** Who keeps POSIX and flock locks: the kernel, on the mount's own inodes, or the daemon's lock table. */
  locks: 'kernel' | 'daemon';
  dropcacheonclose: boolean;
  syscalls: 'auto' | 'inline' | 'pool';
  /** Who reads /dev/fuse: the event loop itself, or a reader thread. */
  reader: 'loop' | 'thread';
  /** Microseconds the event-loop reader keeps reading /dev/fuse after a burst of requests before it sleeps (0: never). */
  pollSpinUs: number;
  /** KiB of readahead set at mount on the mount's and the branches' backing devices (0: leave the kernel's). */
  readaheadKiB: number;
  maxWrite: number;
  // --- the mount
  allowOther: boolean;
  readOnly: boolean;
  nosuid: boolean;
  nodev: boolean;
  noexec: boolean;
  noatime: boolean;
  fsname: string | undefined;
  debug: boolean;
  /** The least severe log message written (stderr in the foreground, syslog in the background). */
  logLevel: (typeof LOG_LEVELS)[number];
  /** The outermost `config=` file, which SIGHUP reads again. */
  configFile?: string;
  /** Set by fuse-overlayfs's command line (never by an option): overlay mode. */
  overlay?: OverlaySettings;
  /** Options accepted but meaningless to braidfs (canonical names, once each): log "accepted and ignored: X". */
  ignored: readonly string[];
}

export const defaults: Readonly<Config> = Object.freeze({
  branches: Object.freeze([]),
  mountpoint: undefined,
  minFreeSpace: 4 * 1024 ** 3,
  branchesMountTimeout: 0,
  branchesMountTimeoutFail: false,
  funcOverrides: Object.freeze([]),
  moveonenospc: 'pfrd',
  ignorepponrename: false,
  cow: false,
  inodecalc: DEFAULT_INODECALC,
  statfs: 'base',
  statfsIgnore: 'none',
  cacheStatfs: 0,
  linkExdev: 'passthrough',
  renameExdev: 'passthrough',
  xattr: 'passthrough',
  securityCapability: true,
  passthroughIo: 'rw',
  cacheEntry: 1,
  cacheAttr: 1,
  cacheNegativeEntry: 0,
  cacheFiles: 'off',
  cacheFilesProcessNames: Object.freeze(['rtorrent', 'qbittorrent-nox']),
  cacheWriteback: false,
  cacheSymlinks: false,
  cacheReaddir: false,
  statx: false,
  readdirplus: 'auto',
  handleKillprivV2: true,
  locks: 'kernel',
  dropcacheonclose: false,
  syscalls: 'auto',
  reader: 'loop',
  pollSpinUs: 50,
  readaheadKiB: 0,
  maxWrite: 1024 * 1024,
  allowOther: true,
  readOnly: false,
  nosuid: true,
  nodev: true,
  noexec: false,
  noatime: false,
  fsname: undefined,
  debug: false,
  logLevel: 'info',
  ignored: Object.freeze([]),
} satisfies Config);

/** Where an option is being applied: on the command line / in fstab (mount), or through runtime control (live). */
export interface ApplyContext {
  readonly live: boolean;
  /** How many `config=` files deep (mergerfs allows 5). */
  readonly depth: number;
  /** What relative paths are relative to; default process.cwd(). */
  readonly cwd?: string;
}

const AT_MOUNT: ApplyContext = { live: false, depth: 0 };
export const LIVE: ApplyContext = { live: true, depth: 0 };
const MAX_CONFIG_DEPTH = 5;

/**
 * option: means something to braidfs. info: read-only facts (version, pid).
 * ignored: mergerfs/libfuse option accepted and noted in Config.ignored.
 * meta: fstab/mount-helper option, accepted silently.
 */
export type OptionKind = 'option' | 'info' | 'ignored' | 'meta';

export interface OptionSpec {
  /** The canonical name first, then aliases. A name ending in `*` matches every name with that prefix. */
  readonly names: readonly string[];
  /** The value syntax for --help, e.g. "off|ro|wo|rw"; '' for options given without a value. */
  readonly value: string;
  readonly doc: string;
  readonly kind: OptionKind;
  /** May be set through runtime control without remounting (else EROFS). */
  readonly runtime: boolean;
  /** A valid value, for the man page and the table's own tests. */
  readonly example?: string;
  /** Checks `v` (undefined: given without `=`) and sets it; throws an OptionError and changes nothing when it is bad. */
  apply(c: Config, v: string | undefined, name: string, ctx: ApplyContext): void;
  /** The current value as runtime control shows it (getxattr); absent for options that are not shown. */
  format?(c: Readonly<Config>): string;
}

type KeysOfType<T> = { [K in keyof Config]-?: [Config[K]] extends [T] ? ([T] extends [Config[K]] ? K : never) : never }[keyof Config];

function assign<K extends keyof Config>(c: Config, key: K, v: Config[K]): void {
  c[key] = v;
}

function flagOption(names: string[], key: KeysOfType<boolean>, doc: string, runtime: boolean, value = 'BOOL'): OptionSpec {
  return { names, value, doc, kind: 'option', runtime, ...(value ? { example: 'true' } : {}), apply: (c, v, n) => assign(c, key, bool(n, v)), format: (c) => String(c[key]) };
}

/** A value-less mount flag that sets `key` to the opposite of its (optional) boolean value. */
function inverseFlag(names: string[], key: KeysOfType<boolean>, doc: string): OptionSpec {
  return { names, value: '', doc, kind: 'option', runtime: false, apply: (c, v, n) => assign(c, key, !bool(n, v)) };
}

function secondsOption(names: string[], key: KeysOfType<number>, doc: string, runtime: boolean): OptionSpec {
  return { names, value: 'SECONDS', doc, kind: 'option', runtime, apply: (c, v, n) => assign(c, key, seconds(n, v)), format: (c) => String(c[key]) };
}

function choiceOption<K extends keyof Config>(names: string[], key: K, allowed: readonly (Config[K] & string)[], doc: string, runtime: boolean): OptionSpec {
  return { names, value: allowed.join('|'), doc, kind: 'option', runtime, apply: (c, v, n) => assign(c, key, oneOf(n, v, allowed)), format: (c) => c[key] as string };
}

/** auto, or a boolean in any spelling `bool` reads (bare: true), as before auto existed. */
function readdirplusMode(name: string, v: string | undefined): ReaddirplusMode {
  if (v === 'auto') return 'auto';
  try {
    return bool(name, v) ? 'true' : 'false';
  } catch {
    throw new OptionError(`option ${name} wants auto|true|false (also 1|0, yes|no, on|off), not '${v ?? ''}'`);
  }
}

// --- policies -----------------------------------------------------------------------

const policyCache = new WeakMap<readonly FuncOverride[], FunctionPolicies>();

/**
 * The policy of every FUSE function under this config: the defaults (create
 * pfrd, search ff, action epall) with the overrides replayed in order.
 * Cached per snapshot; treat the result as read-only (do not apply() on it).
 */
export function functionPolicies(c: Readonly<Config>): FunctionPolicies {
  let fp = policyCache.get(c.funcOverrides);
  if (fp === undefined) {
    fp = new FunctionPolicies();
    for (const [key, policy] of c.funcOverrides) fp.apply(key, policy);
    policyCache.set(c.funcOverrides, fp);
  }
  return fp;
}

/** The overrides plus one more, dropping earlier entries the new one makes irrelevant (same result, bounded list). */
function addOverride(list: readonly FuncOverride[], key: string, policy: string): readonly FuncOverride[] {
  const category = key.startsWith('category.') ? (key.slice('category.'.length) as Category) : undefined;
  const covered = new Set<string>([key, ...(category ? CATEGORY_FUNCTIONS[category].map((f) => `func.${f}`) : [])]);
  return [...list.filter(([k]) => !covered.has(k)), [key, policy]];
}

function policyOption(key: string, doc: string): OptionSpec {
  return {
    names: [key],
    value: 'POLICY',
    doc,
    kind: 'option',
    runtime: true,
    example: 'mfs',
    apply: (c, v, n) => {
      const policy = text(n, v, `a policy: ${POLICY_NAMES.join('|')}`);
      try {
        new FunctionPolicies().apply(key, policy);
      } catch {
        throw new OptionError(`option ${n} wants a policy, one of ${POLICY_NAMES.join('|')}, not '${policy}'`);
      }
      c.funcOverrides = addOverride(c.funcOverrides, key, policy);
    },
    format: (c) => {
      const fp = functionPolicies(c);
      if (key.startsWith('func.')) return fp.get(key.slice('func.'.length) as FunctionName).name;
      const fns = CATEGORY_FUNCTIONS[key.slice('category.'.length) as Category];
      return [...new Set(fns.map((f) => fp.get(f).name))].sort().join(',');
    },
  };
}

const policyOptions: OptionSpec[] = [
  ...CATEGORIES.map((cat) =>
    policyOption(`category.${cat}`, `the policy of every ${cat} function (${CATEGORY_FUNCTIONS[cat].join(', ')}), replacing any func.* of them given earlier`),
  ),
  ...FUNCTION_NAMES.map((f) => {
    const cat = CATEGORY_OF.get(f) ?? 'search';
    return policyOption(`func.${f}`, `the policy of this ${cat} function alone`);
  }),
];

function moveonenospc(n: string, v: string | undefined): false | string {
  if (v === undefined) return DEFAULT_POLICY.create;
  let on: boolean | undefined;
  try {
    on = bool(n, v);
  } catch {
    on = undefined;
  }
  if (on === true) return 'pfrd';
  if (on === false) return false;
  if (POLICY_NAMES.includes(v)) return v;
  throw new OptionError(`option ${n} wants true|false or a policy, one of ${POLICY_NAMES.join('|')}, not '${v}'`);
}

// --- information --------------------------------------------------------------------

let versionCache: string | undefined;

function braidfsVersion(): string {
  if (versionCache === undefined) {
    try {
      // dist/src/config/options.js → package.json at the top.
      const here = dirname(fileURLToPath(import.meta.url));
      const pkg = JSON.parse(readFileSync(join(here, '..', '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
      versionCache = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      versionCache = 'unknown';
    }
  }
  return versionCache;
}

function info(name: string, doc: string, format: () => string): OptionSpec {
  return {
    names: [name],
    value: '',
    doc,
    kind: 'info',
    runtime: false,
    apply: (_c, _v, n) => {
      throw new ReadOnlyOptionError(`option ${n} is read-only information; it cannot be set`);
    },
    format,
  };
}

function formatBranchList(c: Readonly<Config>): string {
  try {
    return formatBranches(c.branches);
  } catch {
    return c.branches.map((b) => `${b.path}=${b.mode}`).join(':');
  }
}

// --- the table ----------------------------------------------------------------------

export const optionTable: readonly OptionSpec[] = [
  // The pool.
  {
    names: ['branches', 'srcmounts'],
    value: 'PATH[=RW|RO|NC[,SIZE]][:…]',
    doc: 'the branches, colon-separated, each with its mode and own minfreespace; globs are expanded. A leading +, +<, +> appends or prepends, -PATTERN, -< or -> removes, = replaces',
    kind: 'option',
    runtime: true,
    example: '/mnt/a=RW:/mnt/b=NC',
    apply: (c, v, n, ctx) => (c.branches = editBranches(n, c.branches, text(n, v, 'a branch list'), ctx.cwd)),
    format: formatBranchList,
  },
  {
    names: ['mountpoint', 'mount'],
    value: 'PATH',
    doc: 'where to mount (instead of the last argument; mostly for config files)',
    kind: 'option',
    runtime: false,
    example: '/mnt/pool',
    apply: (c, v, n, ctx) => (c.mountpoint = resolve(ctx.cwd ?? process.cwd(), text(n, v, 'a path'))),
    format: (c) => c.mountpoint ?? '',
  },
  {
    names: ['config'],
    value: 'FILE',
    doc: 'read options from FILE, one key=value a line (# comments), applied in place',
    kind: 'option',
    runtime: true,
    example: '/dev/null',
    apply: (c, v, n, ctx) => {
      const file = resolve(ctx.cwd ?? process.cwd(), text(n, v, 'a file name'));
      if (ctx.depth >= MAX_CONFIG_DEPTH) throw new OptionError(`option ${n}: config files nested more than ${MAX_CONFIG_DEPTH} deep at '${file}'`);
      const draft: Config = { ...c };
      for (const line of readConfigFile(file)) {
        try {
          applyOption(draft, line, { ...ctx, depth: ctx.depth + 1 });
        } catch (e) {
          if (e instanceof OptionError) throw new OptionError(`config file '${file}', '${line}': ${e.message}`);
          throw e;
        }
      }
      Object.assign(c, draft);
      if (ctx.depth === 0) c.configFile ??= file;
    },
  },
  {
    names: ['minfreespace'],
    value: 'SIZE',
    doc: 'space a branch must keep free to be chosen by create policies (K, M, G, T suffixes), unless the branch gives its own',
    kind: 'option',
    runtime: true,
    example: '10G',
    apply: (c, v, n) => (c.minFreeSpace = size(n, v)),
    format: (c) => formatSize(c.minFreeSpace),
  },
  secondsOption(['branches-mount-timeout'], 'branchesMountTimeout', 'wait up to this long at mount for the branches to be mounted filesystems (0: do not wait)', false),
  flagOption(['branches-mount-timeout-fail'], 'branchesMountTimeoutFail', 'fail the mount if branches-mount-timeout expires (else mount what is there)', false),
  ...policyOptions,
  {
    names: ['moveonenospc'],
    value: 'BOOL|POLICY',
    doc: 'when a write fails with ENOSPC or EDQUOT, move the file to the branch this create policy picks and retry (true means pfrd)',
    kind: 'option',
    runtime: true,
    example: 'mfs',
    apply: (c, v, n) => (c.moveonenospc = moveonenospc(n, v)),
    format: (c) => (c.moveonenospc === false ? 'false' : c.moveonenospc),
  },
  flagOption(['cow'], 'cow', 'copy-on-write: writing, chmod/chown/utimes or an xattr change to a file on an RO branch first copies it to the branch the create policy picks; deleting it leaves a whiteout; layers are searched in branch order', false),
  flagOption(['ignorepponrename'], 'ignorepponrename', 'rename and link ignore path preservation, as with a non-ep create policy', true),
  choiceOption(['inodecalc'], 'inodecalc', INODECALC_MODES, 'how st_ino is computed', true),
  choiceOption(['statfs'], 'statfs', STATFS_MODES, 'statfs sums every branch (base) or only the branches holding the path (full)', true),
  choiceOption(['statfs-ignore'], 'statfsIgnore', STATFS_IGNORE, 'leave the free space of RO branches (ro) or RO and NC branches (nc) out of statfs', true),
  secondsOption(['cache.statfs'], 'cacheStatfs', 'how long branch free-space figures are reused by policies', true),
  choiceOption(['link-exdev'], 'linkExdev', LINK_EXDEV, 'what link does when the policy would need another branch (EXDEV)', true),
  choiceOption(['rename-exdev'], 'renameExdev', RENAME_EXDEV, 'what rename does when the policy would need another branch (EXDEV)', true),
  choiceOption(['xattr'], 'xattr', XATTR_MODES, 'extended attributes: pass through, answer ENOATTR (noattr), or ENOSYS (nosys; also turns runtime control off)', true),
  flagOption(['security-capability'], 'securityCapability', 'pass security.capability through (false: answer ENOATTR without asking the branches)', true),
  // Caching and I/O.
  secondsOption(['cache.entry', 'entry_timeout'], 'cacheEntry', 'how long the kernel caches names', true),
  secondsOption(['cache.attr', 'attr_timeout'], 'cacheAttr', 'how long the kernel caches attributes', true),
  secondsOption(['cache.negative-entry', 'negative_timeout'], 'cacheNegativeEntry', 'how long the kernel caches missing names', true),
  choiceOption(['cache.files'], 'cacheFiles', CACHE_FILES, 'page caching of file contents', true),
  {
    names: ['cache.files.process-names'],
    value: 'NAME|NAME…',
    doc: 'with cache.files=per-process, the process names (as in /proc/PID/comm) whose opens use the page cache; every other process gets direct I/O',
    kind: 'option',
    runtime: true,
    example: 'rtorrent|qbittorrent-nox',
    apply: (c, v, n) => (c.cacheFilesProcessNames = text(n, v, 'process names separated by |').split('|').filter(Boolean)),
    format: (c) => c.cacheFilesProcessNames.join('|'),
  },
  flagOption(['cache.writeback'], 'cacheWriteback', 'kernel writeback caching', false),
  flagOption(['cache.symlinks'], 'cacheSymlinks', 'let the kernel cache symlink targets', false),
  flagOption(['cache.readdir'], 'cacheReaddir', 'let the kernel cache directory listings', true),
  choiceOption(
    ['locks'],
    'locks',
    ['kernel', 'daemon'],
    'who keeps fcntl/flock locks taken through the mount: the kernel, on the mount\'s inodes (as with mergerfs; close then needs no FLUSH round trip), or braidfs\'s own lock table (the kernel sends every lock request and a FLUSH on each close)',
    false,
  ),
  {
    names: ['readdirplus'],
    value: 'auto|true|false',
    doc: 'directory listings with attributes (READDIRPLUS). true: the first batch of every listing comes with attributes, so ls -l and du cost one round trip per batch instead of one per file, but a walk that needs only names (find) pays a stat and a kernel inode per name. auto (default): braidfs sends names only (directories aside: a walk looks each up to go into it) while walks do not go on to stat what was listed, and attributes once they do, judged on sample listings (a LOOKUP of listed names gives it away). false: names only (READDIR), as mergerfs 2.33 does',
    kind: 'option',
    runtime: false,
    example: 'auto',
    // A bare -o readdirplus, or a boolean word, keeps its meaning from before auto existed.
    apply: (c, v, n) => (c.readdirplus = readdirplusMode(n, v)),
    format: (c) => c.readdirplus,
  },
  flagOption(
    ['handle-killpriv-v2'],
    'handleKillprivV2',
    'braidfs clears suid/sgid when an unprivileged caller writes, truncates or chowns a file (FUSE HANDLE_KILLPRIV_V2, as mergerfs does by default). Off, the kernel asks for security.capability before every write(2), passthrough writes included (one round trip per write), and an O_TRUNC open by another user keeps suid/sgid, because the kernel leaves that truncate to the daemon',
    false,
  ),
  flagOption(
    ['statx'],
    'statx',
    'answer statx(2) with the branch file\'s birth time (btime). Off, as with mergerfs 2.33 and fuse-overlayfs, the kernel answers statx from its attribute cache; on, the first statx asking for btime after each lookup (node and coreutils stat(1) ask) costs one more round trip',
    false,
  ),
  flagOption(['dropcacheonclose'], 'dropcacheonclose', 'drop a file\'s cached pages (posix_fadvise DONTNEED) when it is closed', true),
  choiceOption(['passthrough.io', 'passthrough'], 'passthroughIo', ['off', 'ro', 'wo', 'rw'], 'which opens use FUSE passthrough (kernel >= 6.9, root only)', false),
  choiceOption(
    ['syscalls'],
    'syscalls',
    ['auto', 'inline', 'pool'],
    'where branch metadata syscalls run: inline on the event loop (fastest on local disks), on the thread pool (a slow branch cannot stall other requests), or auto: the pool for network and FUSE filesystems and spinning disks, inline for the rest',
    false,
  ),
  choiceOption(['reader'], 'reader', ['loop', 'thread'], 'who reads requests from /dev/fuse: the event loop (one wake-up per request) or a reader thread', false),
  {
    names: ['poll-spin'],
    value: 'MICROSECONDS',
    doc: 'after answering a request, keep reading /dev/fuse this long for the next before going back to sleep (0 to 1000; 0: never). A program that makes one request after another (stat, du, 4 KiB random reads) then finds the daemon awake: no sleep and wake-up of the daemon per request, up to 1.7x faster on a VM, for at most this much CPU after each burst. Not after a big WRITE, whose writer needs longer to send the next. Ignored on a single CPU and with reader=thread',
    kind: 'option',
    runtime: false,
    example: '50',
    apply: (c, v, n) => (c.pollSpinUs = integer(n, v, 0, 1000)),
    format: (c) => String(c.pollSpinUs),
  },
  {
    names: ['readahead'],
    value: 'KIB',
    doc: "readahead in KiB, set at mount on the mount's own backing device and on each branch's (mergerfs's option; 0: leave the kernel's, 128 KiB by default). Without passthrough a sequential read then arrives in READs of up to this size (capped at 1 MiB, the largest READ), fewer and cheaper. Set through /sys/class/bdi, so root only; a device that has none (tmpfs) is skipped with a log line",
    kind: 'option',
    runtime: false,
    example: '1024',
    apply: (c, v, n) => (c.readaheadKiB = integer(n, v, 0, 2 ** 31 - 1)),
    format: (c) => String(c.readaheadKiB),
  },
  // The mount.
  flagOption(['allow_other'], 'allowOther', 'let every user use the mount (takes effect only when braidfs runs as root)', false, ''),
  {
    names: ['fsname'],
    value: 'NAME',
    doc: 'the name shown as the source of the mount',
    kind: 'option',
    runtime: false,
    apply: (c, v) => (c.fsname = v ?? ''),
    format: (c) => c.fsname ?? '',
  },
  flagOption(['debug'], 'debug', 'trace every request and reply (same as -d)', true, ''),
  choiceOption(['log.level', 'loglevel'], 'logLevel', LOG_LEVELS, 'the least severe message logged: to stderr with -f, else to syslog with its priority', true),
  flagOption(['ro'], 'readOnly', 'mount read-only', false, ''),
  inverseFlag(['rw'], 'readOnly', 'mount read-write'),
  inverseFlag(['suid'], 'nosuid', 'honour setuid and setgid bits'),
  flagOption(['nosuid'], 'nosuid', 'ignore setuid and setgid bits', false, ''),
  inverseFlag(['dev'], 'nodev', 'allow device files to be opened'),
  flagOption(['nodev'], 'nodev', 'refuse to open device files', false, ''),
  inverseFlag(['exec'], 'noexec', 'allow programs to be executed'),
  flagOption(['noexec'], 'noexec', 'refuse to execute programs', false, ''),
  flagOption(['noatime'], 'noatime', 'do not update access times', false, ''),
  inverseFlag(['atime', 'relatime'], 'noatime', 'update access times'),
  { names: ['default_permissions'], value: '', doc: 'always on: the kernel checks permissions', kind: 'meta', runtime: false, apply: (_c, v, n) => void noValue(n, v) },
  { names: ['defaults'], value: '', doc: 'fstab placeholder, ignored', kind: 'meta', runtime: false, apply: (_c, v, n) => void noValue(n, v) },
  // Read-only information for runtime control.
  info('version', 'the braidfs version', braidfsVersion),
  info('pid', 'the daemon\'s process id', () => String(process.pid)),
  // mergerfs, libfuse and fstab options braidfs accepts and ignores.
  ...compatOptions,
];

const byName = new Map<string, OptionSpec>();
const byPrefix: Array<[string, OptionSpec]> = [];
for (const spec of optionTable) {
  for (const n of spec.names) {
    if (n.endsWith('*')) byPrefix.push([normalizeName(n.slice(0, -1)), spec]);
    else byName.set(normalizeName(n), spec);
  }
}

/** The table entry for a name as the user wrote it (`_` and `-` alike), or undefined. */
export function findOption(name: string): OptionSpec | undefined {
  const norm = normalizeName(name);
  return byName.get(norm) ?? byPrefix.find(([p]) => norm.startsWith(p))?.[1];
}

/** Splits an -o string on commas, honouring `\,` escapes. */
export function splitOptions(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i]!;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out.filter((o) => o.length > 0);
}

/**
 * Sets option `name` to `value` (undefined: given without `=`). Throws
 * UnknownOptionError, ReadOnlyOptionError (live, for a mount-only option)
 * or OptionError; on error `c` is unchanged.
 */
export function applyNamed(c: Config, name: string, value: string | undefined, ctx: ApplyContext = AT_MOUNT): void {
  const spec = name === '' ? undefined : findOption(name);
  if (!spec) throw new UnknownOptionError(`unknown option '${name}' (see braidfs --help)`);
  if (ctx.live && !spec.runtime) throw new ReadOnlyOptionError(`option ${name} can only be set at mount time`);
  spec.apply(c, value, name, ctx);
  if (spec.kind === 'ignored') c.ignored = withIgnored(c.ignored, spec.names[0] ?? name);
}

/** Applies one `key[=value]` item of an -o list or a config file; key and value are trimmed, as mergerfs does. */
export function applyOption(c: Config, opt: string, ctx: ApplyContext = AT_MOUNT): void {
  const eq = opt.indexOf('=');
  const name = (eq < 0 ? opt : opt.slice(0, eq)).trim();
  const value = eq < 0 ? undefined : opt.slice(eq + 1).trim();
  applyNamed(c, name, value, ctx);
}

/**
 * The options runtime control shows (canonical names; `user.braidfs.<name>`),
 * in table order: every entry with a current value to show (format()). Left
 * out by design: `config` (it reads a file; there is no value to show), the
 * value-less inverse flags (`rw`, `suid`, …: their twin `ro`, `nosuid`, …
 * shows the state), and the compatibility entries, which braidfs ignores.
 */
export function listedOptions(): string[] {
  return optionTable.filter((s) => s.format !== undefined).map((s) => s.names[0] ?? '');
}

// --- documentation ------------------------------------------------------------------
// --help (helpText), the man page's option list (manOptions) and
// examples/braidfs.conf (config/manpage.ts) render the table through the
// helpers below, so an entry added to the table shows up in all of them at
// once; test/unit/docs.test.ts checks that they agree.

/** Defaults worked out at mount time rather than stored in `defaults`. */
const COMPUTED_DEFAULTS: Readonly<Record<string, string>> = { fsname: 'the branch paths minus their common prefix' };

/**
 * The default of an `option` entry as a user would write it; undefined for
 * information and compatibility entries, whose default means nothing. A flag
 * without a value is "on" when giving it changes nothing.
 */
export function optionDefault(s: OptionSpec): string | undefined {
  if (s.kind !== 'option') return undefined;
  const main = s.names[0] ?? '';
  const computed = COMPUTED_DEFAULTS[main];
  if (computed !== undefined) return computed;
  if (s.value === '') {
    const c: Config = { ...defaults };
    s.apply(c, undefined, main, AT_MOUNT);
    return (Object.keys(defaults) as (keyof Config)[]).every((k) => c[k] === defaults[k]) ? 'on' : 'off';
  }
  const v = s.format?.(defaults) ?? '';
  return v === '' ? 'none' : v;
}

/** What the docs add to an entry's doc: its default and whether it can change while mounted. */
export function optionNotes(s: OptionSpec): string[] {
  if (s.kind === 'info') return ['read-only'];
  if (s.kind !== 'option') return [];
  return [`default ${optionDefault(s) ?? 'none'}`, s.runtime ? 'can change at run time' : 'set at mount only'];
}

/** The table's three parts, each a section of --help, the man page and the example config file. */
export const OPTION_SECTIONS: ReadonlyArray<{ readonly title: string; readonly pick: (s: OptionSpec) => boolean }> = [
  { title: 'Mount options', pick: (s) => s.kind === 'option' },
  { title: 'Read-only information (runtime control only)', pick: (s) => s.kind === 'info' },
  { title: 'Accepted for compatibility with mergerfs, libfuse and fstab', pick: (s) => s.kind === 'ignored' || s.kind === 'meta' },
];

/** Entries in table order, consecutive ones with the same doc, kind and notes merged (func.*, the ignored flags). */
export function optionGroups(specs: readonly OptionSpec[]): OptionSpec[][] {
  const key = (s: OptionSpec): string => `${s.kind}\0${s.doc}\0${optionNotes(s).join('\0')}`;
  const out: OptionSpec[][] = [];
  for (const s of specs) {
    const last = out[out.length - 1];
    if (last?.[0] !== undefined && key(last[0]) === key(s)) last.push(s);
    else out.push([s]);
  }
  return out;
}

function synopsis(s: OptionSpec): string {
  const main = s.names[0] ?? '';
  const aliases = s.names.length > 1 ? ` (also: ${s.names.slice(1).join(', ')})` : '';
  return `-o ${main}${s.value ? `=${s.value}` : ''}${aliases}`;
}

/** Joins items with ', ' into lines of at most `width` columns (an item longer than that gets a line of its own). */
function wrap(items: readonly string[], indent: string, width: number, sep = ', '): string {
  const lines: string[] = [];
  let cur = '';
  for (const it of items) {
    if (cur !== '' && indent.length + cur.length + sep.length + it.length > width) {
      lines.push(indent + cur + sep.trimEnd());
      cur = it;
    } else cur = cur === '' ? it : cur + sep + it;
  }
  if (cur !== '') lines.push(indent + cur);
  return lines.join('\n');
}

/** `braidfs --help` after the usage lines: every entry with its value syntax, doc, default and run-time note; 80 columns. */
export function helpText(): string {
  const WIDTH = 79;
  return OPTION_SECTIONS.map(({ title, pick }, i) => {
    const body = optionGroups(optionTable.filter(pick)).map((g) => {
      const notes = optionNotes(g[0]!);
      const doc = notes.length ? `${g[0]!.doc} [${notes.join('; ')}]` : g[0]!.doc;
      return `${wrap(g.map(synopsis), '  ', WIDTH)}\n${wrap(doc.split(' '), '      ', WIDTH, ' ')}`;
    });
    // The usage text already ends with "options:", which heads the first section.
    return (i === 0 ? '' : `\n${title.toLowerCase()}:\n`) + body.join('\n');
  }).join('\n');
}

/** Text for a roff text line: backslashes, hyphens (so names copy and paste), non-ASCII, and a leading . or '. */
export function roffEscape(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/[^\x00-\x7f]/gu, (ch) => `\\[u${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`)
    .replace(/^[.']/gm, '\\&$&');
}

/** A doc fragment as a sentence: capital first letter, full stop at the end. */
const sentence = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}`;

/**
 * The option subsections of the man page (roff): one .TP per group, its tag
 * every name as `\fBname\fR=\fIVALUE\fR` joined by ", " (the docs test parses
 * the names back out of these tags), then the doc and the notes.
 */
export function manOptions(): string {
  return OPTION_SECTIONS.map(({ title, pick }) => {
    const body = optionGroups(optionTable.filter(pick)).map((g) => {
      // \: after each | lets a long list of values (inodecalc's) break across lines.
      const value = (s: OptionSpec): string => (s.value ? `=\\fI${roffEscape(s.value).replace(/\|/g, '|\\:')}\\fR` : '');
      const tag = g.flatMap((s) => s.names.map((n) => `\\fB${roffEscape(n)}\\fR${value(s)}`)).join(', ');
      const notes = optionNotes(g[0]!);
      return `.TP\n${tag}\n${roffEscape(sentence(g[0]!.doc))}${notes.length ? `\n.br\n${roffEscape(sentence(notes.join('; ')))}` : ''}`;
    });
    return `.SS ${title}\n${body.join('\n')}`;
  }).join('\n');
}
