// The part of the option table that exists for compatibility only: every
// mergerfs 2.42 option that has no braidfs counterpart (src/config.cpp's key
// map, the legacy dummies, the names older releases used), the libfuse
// options mergerfs passes through, and the fstab/mount(8) options a mount
// helper may hand over. None of them is ever refused: the value is checked
// with the syntax mergerfs gives it (so a typo still fails the mount, as it
// would under mergerfs), then the option lands in Config.ignored and the
// caller logs "accepted and ignored: NAME" once. The fstab meta-options
// (`nofail`, `_netdev`, `x-systemd.*` …) are dropped silently.
//
// `runtime` follows mergerfs: what it marks `.ro` cannot be set through the
// control file (EROFS); the rest is accepted there and ignored too.
import type { Config, OptionSpec } from './options.js';
import { bool, integer, noValue, oneOf, OptionError, text, withIgnored } from './values.js';

const TUNING = 'mergerfs option with no braidfs counterpart: accepted, logged once and ignored';
const LEGACY = 'legacy option that does nothing in mergerfs 2.42 either: accepted, logged once and ignored';
const LIBFUSE = 'libfuse or mount(8) option braidfs does not use: accepted, logged once and ignored';
const META = 'fstab/mount-helper option meant for mount(8) or systemd, not the filesystem: accepted silently';

const INT_MAX = 2 ** 31 - 1;

function ignored(names: string[], value: string, runtime: boolean, check: (n: string, v: string | undefined) => unknown, doc = TUNING, example?: string): OptionSpec {
  const spec: OptionSpec = { names, value, doc, kind: 'ignored', runtime, apply: (_c, v, n) => void check(n, v) };
  return example === undefined ? spec : { ...spec, example };
}

const ignoredBool = (names: string[], runtime: boolean): OptionSpec => ignored(names, 'BOOL', runtime, bool, TUNING, 'true');
const ignoredInt = (names: string[], runtime: boolean, min = -INT_MAX - 1, max = INT_MAX): OptionSpec =>
  ignored(names, 'INT', runtime, (n, v) => integer(n, v, min, max), TUNING, String(Math.max(min, 1)));
const ignoredChoice = (names: string[], runtime: boolean, allowed: readonly string[]): OptionSpec =>
  ignored(names, allowed.join('|'), runtime, (n, v) => oneOf(n, v, allowed));
const ignoredText = (names: string[], value: string, runtime: boolean): OptionSpec => ignored(names, value, runtime, (n, v) => text(n, v));
/** mergerfs's CfgDummy: any value or none. */
const dummy = (names: string[]): OptionSpec => ignored(names, 'ANY', true, () => undefined, LEGACY, 'x');
/** A libfuse or mount(8) flag without a value. */
const libfuseFlag = (names: string[]): OptionSpec => ignored(names, '', false, noValue, LIBFUSE);
const libfuseValue = (names: string[], value: string, check: (n: string, v: string | undefined) => unknown = text): OptionSpec =>
  ignored(names, value, false, check, LIBFUSE, value === 'N' ? '1' : 'x');

function meta(names: string[], value = ''): OptionSpec {
  return { names, value, doc: META, kind: 'meta', runtime: false, apply: (_c, v, n) => (value === '' ? noValue(n, v) : undefined), ...(value === '' ? {} : { example: 'x' }) };
}

/** never-forget-nodes and its old names (mergerfs CfgNoforget): no value, an integer (0 = false) or a boolean. */
function noforget(n: string, v: string | undefined): void {
  if (v === undefined || v === '' || /^[-+]?\d+$/.test(v)) return;
  bool(n, v);
}

/** func.readdir=seq|cosr[:N[:M]]|cor[:N[:M]] (mergerfs's readdir strategies; braidfs always reads directories one way). */
function readdirPolicy(n: string, v: string | undefined): void {
  if (v !== undefined && /^(seq|cosr(:-?\d+(:-?\d+)?)?|cor(:-?\d+(:-?\d+)?)?)$/.test(v)) return;
  throw new OptionError(`option ${n} wants one of seq|cosr[:N[:M]]|cor[:N[:M]], not '${v ?? ''}'`);
}

/** fuse-msg-size: a number of pages, or a size with a B/K/M/G/T suffix. */
function msgSize(n: string, v: string | undefined): void {
  if (v !== undefined && /^\d+[BKMGTbkmgt]?$/.test(v)) return;
  throw new OptionError(`option ${n} wants a number of pages or a size such as 1M, not '${v ?? ''}'`);
}

/**
 * kernel-permissions-check: braidfs always lets the kernel check permissions
 * (default_permissions), so `true` is simply what happens and only `false`
 * is ignored.
 */
const kernelPermissionsCheck: OptionSpec = {
  names: ['kernel-permissions-check'],
  value: 'BOOL',
  doc: 'always on in braidfs (the kernel checks permissions); false is accepted, logged once and ignored',
  kind: 'meta',
  runtime: false,
  example: 'true',
  apply: (c: Config, v, n) => {
    if (!bool(n, v)) c.ignored = withIgnored(c.ignored, 'kernel-permissions-check');
  },
};

export const compatOptions: readonly OptionSpec[] = [
  // mergerfs 2.42 options without a braidfs counterpart.
  ignoredBool(['allow-idmap'], false),
  ignoredBool(['async-read'], false),
  ignoredBool(['direct-io-allow-mmap'], false),
  ignoredBool(['export-support'], false),
  ignoredChoice(['flush-on-close'], true, ['never', 'always', 'opened-for-write']),
  ignoredChoice(['follow-symlinks'], true, ['never', 'directory', 'regular', 'all']),
  ignored(['func.readdir'], 'seq|cosr[:N[:M]]|cor[:N[:M]]', true, readdirPolicy, TUNING, 'seq'),
  ignored(['fuse-msg-size'], 'PAGES|SIZE', false, msgSize, TUNING, '1M'),
  ignoredBool(['handle-killpriv'], false),
  ignoredBool(['lazy-umount-mountpoint'], true),
  ignoredBool(['link-cow'], true),
  ignoredText(['log.file'], 'PATH', true),
  ignored(['never-forget-nodes', 'noforget', 'remember', 'remember-nodes'], 'BOOL', false, noforget, TUNING, 'true'),
  ignoredChoice(['nfsopenhack'], true, ['off', 'git', 'all']),
  ignoredBool(['nullrw'], false),
  ignoredBool(['parallel-direct-writes'], true),
  ignoredInt(['passthrough.max-stack-depth'], false, 1, 2),
  ignoredText(['pin-threads'], 'R1L|R1P|RP1L|RP1P|R1LP1L|R1PP1P|RPSL|RPSP|R1PPSP', false),
  ignoredBool(['posix-acl'], false),
  ignoredInt(['process-thread-count'], false),
  ignoredInt(['process-thread-queue-depth'], false),
  ignoredBool(['proxy-ioprio'], true),
  ignoredInt(['read-thread-count', 'threads'], false),
  ignoredInt(['scheduling-priority'], false, -20, 19),
  ignoredBool(['symlinkify'], true),
  ignoredInt(['symlinkify-timeout'], true, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  ignoredInt(['uid'], false, 0, 2 ** 32 - 1),
  ignoredInt(['gid'], false, 0, 2 ** 32 - 1),
  ignoredText(['umask'], 'OCTAL', false),
  // Options of earlier mergerfs releases.
  ignoredBool(['log.metrics'], true),
  // mergerfs's dummies: accepted with any value, doing nothing.
  dummy(['atomic-o-trunc']),
  dummy(['auto-cache']),
  dummy(['big-writes']),
  dummy(['cache.open']),
  dummy(['direct-io']),
  dummy(['gid-cache.expire-timeout']),
  dummy(['gid-cache.remove-timeout']),
  dummy(['hard-remove']),
  dummy(['kernel-cache']),
  dummy(['negative-entry']),
  dummy(['no-splice-move']),
  dummy(['no-splice-read']),
  dummy(['no-splice-write']),
  dummy(['nonempty']),
  dummy(['splice-move']),
  dummy(['splice-read']),
  dummy(['splice-write']),
  dummy(['use-ino']),
  // libfuse and mount(8) options that mergerfs hands to libfuse or the kernel.
  libfuseFlag(['allow_root']),
  libfuseFlag(['auto_unmount']),
  libfuseFlag(['blkdev']),
  libfuseValue(['blksize'], 'N', (n, v) => integer(n, v, 0, INT_MAX)),
  libfuseValue(['max_read'], 'N', (n, v) => integer(n, v, 0, INT_MAX)),
  libfuseValue(['max_readahead'], 'N', (n, v) => integer(n, v, 0, INT_MAX)),
  libfuseValue(['max_background'], 'N', (n, v) => integer(n, v, 0, INT_MAX)),
  libfuseValue(['congestion_threshold'], 'N', (n, v) => integer(n, v, 0, INT_MAX)),
  libfuseValue(['subtype'], 'NAME'),
  libfuseFlag(['sync_read']),
  libfuseFlag(['sync']),
  libfuseFlag(['async']),
  libfuseFlag(['dirsync']),
  libfuseFlag(['lazytime']),
  libfuseFlag(['nolazytime']),
  libfuseFlag(['diratime']),
  libfuseFlag(['nodiratime']),
  libfuseFlag(['strictatime']),
  libfuseFlag(['norelatime']),
  libfuseFlag(['silent']),
  libfuseFlag(['loud']),
  // fstab and mount-helper options (mount.fuse and mount.mergerfs drop these too).
  kernelPermissionsCheck,
  meta(['auto']),
  meta(['noauto']),
  meta(['nofail']),
  meta(['_netdev']),
  meta(['user']),
  meta(['users']),
  meta(['nouser']),
  meta(['owner']),
  meta(['group']),
  meta(['comment'], 'TEXT'),
  meta(['x-*'], 'ANY'),
];
