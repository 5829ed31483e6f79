// mergerfs option compatibility (issue 5 item 3, issue 3 items 1 and 4):
// every mergerfs 2.42 option name and value is accepted with the same
// meaning, old underscore spellings too; what does not apply to braidfs is
// accepted and noted once in Config.ignored, never refused; bad values of
// known options still fail, naming the option and what it takes.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import path from 'node:path';
import { parseArgs, type Command } from '../../src/cli/args.js';
import { appendBranches, editBranches, splitInstruction } from '../../src/config/branch-list.js';
import {
  applyOption,
  defaultFsname,
  defaults,
  findOption,
  functionPolicies,
  manOptions,
  OptionError,
  optionTable,
  splitOptions,
  type Config,
  type OptionSpec,
} from '../../src/config/options.js';
import { fnmatch, normalizeName } from '../../src/config/values.js';
import type { BranchSpec } from '../../src/union/branch-spec.js';

const G = 1024 ** 3;

function withOpts(...opts: string[]): Config {
  const c: Config = { ...defaults };
  for (const o of opts) for (const item of splitOptions(o)) applyOption(c, item);
  return c;
}

function rejects(t: ExecutionContext, fn: () => unknown, ...mentions: string[]): void {
  const e = t.throws(fn, { instanceOf: OptionError });
  for (const m of mentions) t.true(e?.message.includes(m), `'${e?.message}' should mention '${m}'`);
}

function mount(t: ExecutionContext, cmd: Command): Extract<Command, { kind: 'mount' }> {
  if (cmd.kind !== 'mount') {
    t.fail(`expected a mount command, got ${cmd.kind}`);
    throw new Error('not a mount');
  }
  return cmd;
}

function sample(s: OptionSpec): string | undefined {
  if (s.value === '') return undefined;
  if (s.example !== undefined) return s.example;
  if (s.value === 'SECONDS') return '1';
  if (s.value.includes('|')) return s.value.split('|')[0];
  return 'x';
}

const spec = (b: Partial<BranchSpec> & { path: string }): BranchSpec => ({ mode: 'RW', minFreeSpace: undefined, fromGlob: undefined, ...b });

/** Every key of mergerfs 2.42's option map (src/config.cpp, Config::Config), reference §2.4. */
const MERGERFS_KEYS = [
  'allow-idmap', 'async-read', 'atomic-o-trunc', 'auto-cache', 'big-writes', 'branches', 'branches-mount-timeout',
  'branches-mount-timeout-fail', 'cache.attr', 'cache.entry', 'cache.files', 'cache.files.process-names',
  'cache.negative-entry', 'cache.open', 'cache.readdir', 'cache.statfs', 'cache.symlinks', 'cache.writeback',
  'category.action', 'category.create', 'category.search', 'config', 'debug', 'defaults', 'direct-io',
  'direct-io-allow-mmap', 'dropcacheonclose', 'export-support', 'flush-on-close', 'follow-symlinks', 'fsname',
  'func.access', 'func.chmod', 'func.chown', 'func.create', 'func.getattr', 'func.getxattr', 'func.link',
  'func.listxattr', 'func.mkdir', 'func.mknod', 'func.open', 'func.readdir', 'func.readlink', 'func.removexattr',
  'func.rename', 'func.rmdir', 'func.setxattr', 'func.symlink', 'func.truncate', 'func.unlink', 'func.utimens',
  'fuse-msg-size', 'gid', 'gid-cache.expire-timeout', 'gid-cache.remove-timeout', 'handle-killpriv',
  'handle-killpriv-v2', 'hard-remove', 'ignorepponrename', 'inodecalc', 'kernel-cache', 'kernel-permissions-check',
  'lazy-umount-mountpoint', 'link-cow', 'link-exdev', 'log.file', 'minfreespace', 'mount', 'mountpoint',
  'moveonenospc', 'negative-entry', 'never-forget-nodes', 'nfsopenhack', 'no-splice-move', 'no-splice-read',
  'no-splice-write', 'noforget', 'nonempty', 'nullrw', 'parallel-direct-writes', 'passthrough.io',
  'passthrough.max-stack-depth', 'pid', 'pin-threads', 'posix-acl', 'process-thread-count',
  'process-thread-queue-depth', 'proxy-ioprio', 'read-thread-count', 'readahead', 'remember', 'remember-nodes',
  'rename-exdev', 'scheduling-priority', 'security-capability', 'splice-move', 'splice-read', 'splice-write',
  'srcmounts', 'statfs', 'statfs-ignore', 'symlinkify', 'symlinkify-timeout', 'threads', 'uid', 'umask', 'use-ino',
  'version', 'xattr',
];

/** The deprecated spellings mergerfs documents (config/deprecated_options.md) and other names of older releases. */
const LEGACY_NAMES = [
  'allow_other', 'async_read', 'atomic_o_trunc', 'attr_timeout', 'auto_cache', 'big_writes', 'direct_io',
  'entry_timeout', 'hard_remove', 'kernel_cache', 'negative_entry', 'remember', 'remember-nodes', 'noforget',
  'nonempty', 'splice_move', 'splice_read', 'splice_write', 'sync_read', 'use_ino', 'cache.negative_entry',
  'statfs_ignore', 'link_cow', 'fuse_msg_size', 'posix_acl', 'security_capability', 'symlinkify_timeout',
  'readdirplus', 'log.metrics', 'negative_timeout',
];

const READ_ONLY_INFO = new Set(['pid', 'version']);

test('every mergerfs 2.42 option name is in the table', (t) => {
  const missing = MERGERFS_KEYS.filter((k) => findOption(k) === undefined);
  t.deepEqual(missing, []);
});

test('every mergerfs 2.42 option is accepted with a valid value, with - or _', (t) => {
  for (const key of MERGERFS_KEYS) {
    const s = findOption(key);
    if (!s || READ_ONLY_INFO.has(key)) continue;
    const v = sample(s);
    for (const name of [key, key.replace(/-/g, '_')]) {
      t.notThrows(() => withOpts(v === undefined ? name : `${name}=${v}`), `${name}=${v ?? ''}`);
    }
  }
});

test('legacy and underscore spellings are accepted', (t) => {
  for (const name of LEGACY_NAMES) {
    const s = findOption(name);
    if (!s) {
      t.fail(`${name} is not in the table`);
      continue;
    }
    const v = sample(s);
    t.notThrows(() => withOpts(v === undefined ? name : `${name}=${v}`), name);
  }
});

test('pid and version are read-only information', (t) => {
  rejects(t, () => withOpts('version=9'), 'version', 'read-only');
  rejects(t, () => withOpts('pid'), 'pid', 'read-only');
});

test('_ and - are the same character in every option name of the table', (t) => {
  for (const s of optionTable) {
    if (s.kind === 'info') continue;
    const v = sample(s);
    for (const name of s.names) {
      if (name.endsWith('*')) continue;
      const suffix = v === undefined ? '' : `=${v}`;
      const want = withOpts(name + suffix);
      t.deepEqual(withOpts(name.replace(/-/g, '_') + suffix), want, name.replace(/-/g, '_'));
      t.deepEqual(withOpts(name.replace(/_/g, '-') + suffix), want, name.replace(/_/g, '-'));
    }
  }
});

test('option names stay unique when _ and - are the same', (t) => {
  const names = optionTable.flatMap((s) => s.names).map(normalizeName);
  t.is(new Set(names).size, names.length);
});

test('mergerfs spellings set the same fields as the braidfs ones', (t) => {
  t.is(withOpts('cache.negative_entry=5').cacheNegativeEntry, 5);
  t.is(withOpts('statfs_ignore=nc').statfsIgnore, 'nc');
  t.is(withOpts('statfs-ignore=ro').statfsIgnore, 'ro');
  t.is(withOpts('link_exdev=abs-pool-symlink').linkExdev, 'abs-pool-symlink');
  t.is(withOpts('rename_exdev=rel-symlink').renameExdev, 'rel-symlink');
  t.is(withOpts('security_capability=false').securityCapability, false);
  t.is(withOpts('cache.files=auto-full').cacheFiles, 'auto-full');
  t.is(withOpts('cache.files=per-process').cacheFiles, 'per-process');
  t.true(withOpts('cache.writeback=true').cacheWriteback);
  t.true(withOpts('cache.symlinks=yes').cacheSymlinks);
  t.true(withOpts('cache.readdir=on').cacheReaddir);
  t.true(withOpts('dropcacheonclose=true').dropcacheonclose);
  t.true(withOpts('ignorepponrename=1').ignorepponrename);
  t.is(withOpts('cache.statfs=10').cacheStatfs, 10);
  t.is(withOpts('xattr=nosys').xattr, 'nosys');
  t.is(withOpts('inodecalc=path-hash32').inodecalc, 'path-hash32');
  t.is(withOpts('branches-mount-timeout=30').branchesMountTimeout, 30);
  t.true(withOpts('branches_mount_timeout_fail=true').branchesMountTimeoutFail);
  t.is(withOpts('minfreespace=16G').minFreeSpace, 16 * G);
  t.is(withOpts('minfreespace=0').minFreeSpace, 0);
  t.is(withOpts('mountpoint=/media').mountpoint, '/media');
  t.is(withOpts('mount=/media').mountpoint, '/media');
});

test('options without a braidfs meaning are listed once each in ignored, by canonical name', (t) => {
  const c = withOpts('use_ino,big_writes,nullrw=true', 'use-ino,threads=4,read-thread-count=2,symlinkify=false,func.readdir=cosr:4:2');
  t.deepEqual(c.ignored, ['use-ino', 'big-writes', 'nullrw', 'read-thread-count', 'symlinkify', 'func.readdir']);
  t.deepEqual({ ...c, ignored: [] }, { ...defaults }, 'and they change nothing else');
});

test('fstab and mount-helper options are accepted silently', (t) => {
  const c = withOpts('defaults,nofail,noauto,auto,_netdev,user,users,nouser,owner,group,x-systemd.automount,x-systemd.mount-timeout=30,comment=x,default_permissions');
  t.deepEqual(c, { ...defaults });
});

test('kernel-permissions-check: true is what braidfs does, false is ignored', (t) => {
  t.deepEqual(withOpts('kernel-permissions-check=true').ignored, []);
  t.deepEqual(withOpts('kernel_permissions_check=false').ignored, ['kernel-permissions-check']);
  rejects(t, () => withOpts('kernel-permissions-check=maybe'), 'kernel-permissions-check', 'true|false');
});

test('invalid values of known options fail, naming the option and what it takes', (t) => {
  rejects(t, () => withOpts('inodecalc=md5'), 'inodecalc', 'hybrid-hash', 'path-hash32');
  rejects(t, () => withOpts('statfs_ignore=all'), 'statfs_ignore', 'none|ro|nc');
  rejects(t, () => withOpts('statfs=some'), 'statfs', 'base|full');
  rejects(t, () => withOpts('link-exdev=copy'), 'link-exdev', 'abs-pool-symlink');
  rejects(t, () => withOpts('rename-exdev=copy'), 'rename-exdev', 'abs-symlink');
  rejects(t, () => withOpts('xattr=none'), 'xattr', 'passthrough|noattr|nosys');
  rejects(t, () => withOpts('cache.files=libfuse'), 'cache.files', 'auto-full');
  rejects(t, () => withOpts('category.create=best'), 'category.create', 'pfrd', 'epmfs');
  rejects(t, () => withOpts('func.getattr=best'), 'func.getattr', 'newest');
  rejects(t, () => withOpts('func.getattr'), 'func.getattr', 'policy');
  rejects(t, () => withOpts('moveonenospc=maybe'), 'moveonenospc', 'true|false', 'mfs');
  rejects(t, () => withOpts('minfreespace=4X'), 'minfreespace', 'size');
  rejects(t, () => withOpts('minfreespace=-1'), 'minfreespace');
  rejects(t, () => withOpts('cache.statfs=soon'), 'cache.statfs', 'seconds');
  rejects(t, () => withOpts('branches-mount-timeout=-3'), 'branches-mount-timeout', 'seconds');
  rejects(t, () => withOpts('dropcacheonclose=sometimes'), 'dropcacheonclose', 'true|false');
  rejects(t, () => withOpts('branches=/a=rw'), 'branches', 'RW');
  rejects(t, () => withOpts('branches=/a=RW\\,lots'), 'branches', 'minfreespace');
  rejects(t, () => withOpts('branches'), 'branches');
  // Ignored options are still checked, as mergerfs checks them.
  rejects(t, () => withOpts('nullrw=maybe'), 'nullrw', 'true|false');
  rejects(t, () => withOpts('func.readdir=parallel'), 'func.readdir', 'seq|cosr');
  rejects(t, () => withOpts('scheduling-priority=99'), 'scheduling-priority', '-20', '19');
  rejects(t, () => withOpts('follow-symlinks=sometimes'), 'follow-symlinks', 'never|directory|regular|all');
  rejects(t, () => withOpts('flush_on_close=maybe'), 'flush_on_close', 'opened-for-write');
  rejects(t, () => withOpts('nfsopenhack=yes'), 'nfsopenhack', 'off|git|all');
  rejects(t, () => withOpts('fuse-msg-size=big'), 'fuse-msg-size');
  rejects(t, () => withOpts('auto_unmount=1'), 'auto_unmount', 'no value');
});

test('a typo is still an unknown option', (t) => {
  rejects(t, () => withOpts('minfreespcae=4G'), 'minfreespcae');
  rejects(t, () => withOpts('func.readir=seq'), 'func.readir');
  rejects(t, () => withOpts('category.creat=ff'), 'category.creat');
});

test('policy defaults are mergerfs 2.42: create pfrd, search ff, action epall', (t) => {
  const fp = functionPolicies(defaults);
  for (const f of ['create', 'mkdir', 'mknod', 'symlink'] as const) t.is(fp.get(f).name, 'pfrd', f);
  for (const f of ['access', 'getattr', 'getxattr', 'listxattr', 'open', 'readlink'] as const) t.is(fp.get(f).name, 'ff', f);
  for (const f of ['chmod', 'chown', 'link', 'removexattr', 'rename', 'rmdir', 'setxattr', 'truncate', 'unlink', 'utimens'] as const) t.is(fp.get(f).name, 'epall', f);
});

test('category.X and func.Y apply left to right', (t) => {
  const a = withOpts('func.mkdir=mfs,category.create=ff');
  t.is(functionPolicies(a).get('mkdir').name, 'ff', 'a later category overrides an earlier func');
  t.is(functionPolicies(a).get('create').name, 'ff');
  const b = withOpts('category.create=ff,func.mkdir=mfs');
  t.is(functionPolicies(b).get('mkdir').name, 'mfs', 'a later func overrides its category');
  t.is(functionPolicies(b).get('create').name, 'ff');
  t.is(functionPolicies(b).get('getattr').name, 'ff', 'other categories keep their defaults');
  t.is(functionPolicies(b).get('unlink').name, 'epall');
  const c = withOpts('func.getattr=newest', 'category.search=epff', 'func.open=mfs');
  t.is(functionPolicies(c).get('getattr').name, 'epff');
  t.is(functionPolicies(c).get('open').name, 'mfs');
  t.is(functionPolicies(c).get('access').name, 'epff');
});

test('funcOverrides keeps the order given and drops only entries a later one overrides entirely', (t) => {
  t.deepEqual(withOpts('category.create=ff,func.mkdir=mfs,func.getattr=newest').funcOverrides, [
    ['category.create', 'ff'],
    ['func.mkdir', 'mfs'],
    ['func.getattr', 'newest'],
  ]);
  t.deepEqual(withOpts('func.mkdir=mfs,func.getattr=newest,category.create=ff').funcOverrides, [
    ['func.getattr', 'newest'],
    ['category.create', 'ff'],
  ]);
  t.deepEqual(withOpts('func.getattr=newest,func.getattr=mfs').funcOverrides, [['func.getattr', 'mfs']]);
  // mergerfs turns every _ into -, so func_getattr is no name at all, there or here.
  rejects(t, () => withOpts('func_getattr=mfs'), 'func_getattr');
});

test('moveonenospc takes a boolean or a policy; true means pfrd', (t) => {
  t.is(withOpts('moveonenospc=true').moveonenospc, 'pfrd');
  t.is(withOpts('moveonenospc=on').moveonenospc, 'pfrd');
  t.is(withOpts('moveonenospc').moveonenospc, 'pfrd');
  t.is(withOpts('moveonenospc=false').moveonenospc, false);
  t.is(withOpts('moveonenospc=0').moveonenospc, false);
  t.is(withOpts('moveonenospc=mfs').moveonenospc, 'mfs');
  t.is(withOpts('moveonenospc=epmfs').moveonenospc, 'epmfs');
});

test('real-world mergerfs option strings are accepted', (t) => {
  // From mergerfs's quickstart and fstab examples, and scripts in the wild.
  for (const o of [
    'cache.files=off,category.create=pfrd,func.getattr=newest,dropcacheonclose=false',
    'minfreespace=16G',
    'allow_other,use_ino,cache.files=partial,dropcacheonclose=true,category.create=mfs,fsname=mergerfs',
    'sync_read,auto_cache,dropcacheonclose=true,use_ino,allow_other,func.getattr=newest,category.create=ff,minfreespace=0,fsname=pgunion',
    'defaults,allow_other,nonempty,use_ino,cache.files=off,moveonenospc=true,category.create=mfs,dropcacheonclose=true,minfreespace=250G,fsname=mergerfs',
    'direct_io,defaults,allow_other,category.create=epmfs,moveonenospc=true,minfreespace=20G,fsname=pool,x-systemd.requires-mounts-for=/mnt/disk1,nofail',
    'cache.files=partial,dropcacheonclose=true,category.create=mfs,statfs_ignore=nc,link_cow=true,inodecalc=path-hash,lazy-umount-mountpoint=true',
  ]) {
    t.notThrows(() => withOpts(o), o);
  }
});

// --- branches ---------------------------------------------------------------------------

test('branches= reads modes and per-branch minfreespace; minfreespace is the global default', (t) => {
  // In an -o list the comma of a per-branch size must be escaped, as with libfuse (config files need not).
  const c = withOpts('branches=/mnt/a=RW:/mnt/b=RO\\,10G:/mnt/c=NC,minfreespace=1G');
  t.deepEqual(c.branches, [spec({ path: '/mnt/a' }), spec({ path: '/mnt/b', mode: 'RO', minFreeSpace: 10 * G }), spec({ path: '/mnt/c', mode: 'NC' })]);
  t.is(c.minFreeSpace, G);
  t.deepEqual(withOpts('srcmounts=/x').branches, [spec({ path: '/x' })]);
});

test('branches= takes mergerfs instructions: = + +> +< - -< ->', (t) => {
  const base = [spec({ path: '/a' }), spec({ path: '/b' }), spec({ path: '/c' })];
  const paths = (l: readonly BranchSpec[]): string[] => l.map((b) => b.path);
  t.deepEqual(paths(editBranches('branches', base, '/x:/y')), ['/x', '/y']);
  t.deepEqual(paths(editBranches('branches', base, '=/x')), ['/x']);
  t.deepEqual(paths(editBranches('branches', base, '+/x')), ['/a', '/b', '/c', '/x']);
  t.deepEqual(paths(editBranches('branches', base, '+>/x:/y')), ['/a', '/b', '/c', '/x', '/y']);
  t.deepEqual(paths(editBranches('branches', base, '+</x')), ['/x', '/a', '/b', '/c']);
  t.deepEqual(paths(editBranches('branches', base, '-/b')), ['/a', '/c']);
  t.deepEqual(paths(editBranches('branches', base, '-/[ab]:/nothing')), ['/c']);
  t.deepEqual(paths(editBranches('branches', base, '-/*')), []);
  t.deepEqual(paths(editBranches('branches', base, '-<')), ['/b', '/c']);
  t.deepEqual(paths(editBranches('branches', base, '->')), ['/a', '/b']);
  t.deepEqual(paths(base), ['/a', '/b', '/c'], 'the list given is never changed');
  rejects(t, () => editBranches('branches', [], '->'), 'branches', 'empty');
  rejects(t, () => editBranches('branches', base, '<>/x'), 'branches', 'instruction');
  t.deepEqual(paths(withOpts('branches=/a:/b', 'branches=+</z', 'branches=->').branches), ['/z', '/a']);
});

test('splitInstruction follows mergerfs l::split', (t) => {
  t.deepEqual(splitInstruction('/a'), { instr: '', operand: '/a' });
  t.deepEqual(splitInstruction('+/a'), { instr: '+', operand: '/a' });
  t.deepEqual(splitInstruction('+>/a'), { instr: '+>', operand: '/a' });
  t.deepEqual(splitInstruction('+>-x'), { instr: '+>', operand: '-x' }, 'at most two characters');
  t.deepEqual(splitInstruction('->'), { instr: '->', operand: '' });
  t.deepEqual(splitInstruction('='), { instr: '=', operand: '' });
});

test('fnmatch with flags 0: * and ? match / too', (t) => {
  t.true(fnmatch('/mnt/*', '/mnt/a/b'));
  t.true(fnmatch('/mnt/disk?', '/mnt/disk1'));
  t.false(fnmatch('/mnt/disk?', '/mnt/disk10'));
  t.true(fnmatch('/mnt/disk[0-9]', '/mnt/disk7'));
  t.false(fnmatch('/mnt/disk[!0-9]', '/mnt/disk7'));
  t.true(fnmatch('/a.b', '/a.b'));
  t.false(fnmatch('/a.b', '/axb'), 'regex characters are literal');
  t.true(fnmatch('/a\\*', '/a*'));
  t.false(fnmatch('/a\\*', '/ab'));
  t.true(fnmatch('/a[', '/a['), 'an unclosed [ is literal');
});

test('appendBranches takes a list literally, even one starting with - or +', (t) => {
  const l = appendBranches('BRANCHES', [spec({ path: '/a' })], '-x:+y', '/cwd');
  t.deepEqual(
    l.map((b) => b.path),
    ['/a', '/cwd/-x', '/cwd/+y'],
  );
});

test('defaultFsname drops the common prefix, character by character', (t) => {
  t.is(defaultFsname(['/mnt/hdd1', '/mnt/hdd2']), '1:2');
  t.is(defaultFsname(['/mnt/a', '/mnt/b', '/mnt/c']), 'a:b:c');
  t.is(defaultFsname(['/mnt/disk1', '/mnt/disk10']), '/mnt/disk1:/mnt/disk10', 'one a prefix of the other: nothing dropped');
  t.is(defaultFsname(['/srv/x']), '/srv/x');
  t.is(defaultFsname(['/a', '/a']), '/a:/a');
  t.is(defaultFsname(['/a', '/b']), 'a:b');
  t.is(defaultFsname([]), '');
});

// --- the command line -------------------------------------------------------------------

test('parseArgs: BRANCHES MOUNTPOINT with modes and sizes', (t) => {
  const m = mount(t, parseArgs(['-o', 'minfreespace=1G', '/mnt/hdd1=RW:/mnt/hdd2=NC,5G:/mnt/ro=RO', '/media']));
  t.is(m.source, '/mnt/hdd1=RW:/mnt/hdd2=NC,5G:/mnt/ro=RO');
  t.is(m.mountpoint, '/media');
  t.is(m.config.mountpoint, '/media');
  t.deepEqual(m.config.branches, [spec({ path: '/mnt/hdd1' }), spec({ path: '/mnt/hdd2', mode: 'NC', minFreeSpace: 5 * G }), spec({ path: '/mnt/ro', mode: 'RO' })]);
  t.is(m.config.minFreeSpace, G);
  t.is(m.config.fsname, 'hdd1:hdd2:ro');
});

test('parseArgs: mergerfs BRANCH1 BRANCH2 … MOUNTPOINT', (t) => {
  const m = mount(t, parseArgs(['/mnt/hdd1', '/mnt/hdd2=NC', '/mnt/ssd*none', '/media', '-f']));
  t.is(m.source, '/mnt/hdd1:/mnt/hdd2=NC:/mnt/ssd*none');
  t.is(m.mountpoint, '/media');
  t.deepEqual(
    m.config.branches.map((b) => [b.path, b.mode]),
    [
      ['/mnt/hdd1', 'RW'],
      ['/mnt/hdd2', 'NC'],
      ['/mnt/ssd*none', 'RW'],
    ],
  );
  t.true(m.config.branches[2]?.unmatchedGlob, 'an unmatched glob is kept literally and flagged');
  t.true(m.foreground);
  const m2 = mount(t, parseArgs(['a', '--', 'b', 'c']));
  t.deepEqual(
    m2.config.branches.map((b) => b.path),
    [path.resolve('a'), path.resolve('b')],
  );
  t.is(m2.mountpoint, 'c');
  t.is(m2.config.mountpoint, path.resolve('c'));
});

test('parseArgs: -o branches= with just MOUNTPOINT', (t) => {
  const m = mount(t, parseArgs(['-o', 'branches=/mnt/a:/mnt/b=RO,allow_other', '/media']));
  t.deepEqual(
    m.config.branches.map((b) => b.path),
    ['/mnt/a', '/mnt/b'],
  );
  t.is(m.source, '/mnt/a=RW:/mnt/b=RO', 'source keeps the modes, for whoever parses it again');
  t.is(m.mountpoint, '/media');
  t.is(m.config.fsname, 'a:b');
});

test('parseArgs: -o branches= and -o mountpoint= without positionals; positional branches are appended', (t) => {
  const m = mount(t, parseArgs(['-o', 'branches=/mnt/a,mountpoint=/media']));
  t.is(m.mountpoint, '/media');
  t.deepEqual(
    m.config.branches.map((b) => b.path),
    ['/mnt/a'],
  );
  const m2 = mount(t, parseArgs(['-o', 'mountpoint=/media', '/mnt/x', '/mnt/y']));
  t.deepEqual(
    m2.config.branches.map((b) => b.path),
    ['/mnt/x', '/mnt/y'],
    'with -o mountpoint every positional is a branch',
  );
  const m3 = mount(t, parseArgs(['-o', 'branches=/mnt/a', '/mnt/b=NC', '/media']));
  t.deepEqual(
    m3.config.branches.map((b) => b.path),
    ['/mnt/a', '/mnt/b'],
  );
  t.is(m3.source, '/mnt/a=RW:/mnt/b=NC');
});

test('parseArgs: an explicit fsname is kept', (t) => {
  t.is(mount(t, parseArgs(['-o', 'fsname=pool', '/mnt/a:/mnt/b', '/media'])).config.fsname, 'pool');
  t.is(mount(t, parseArgs(['-o', 'fsname=', '/mnt/a:/mnt/b', '/media'])).config.fsname, '');
});

test('parseArgs: no branches, or a branch that is the mountpoint, is an OptionError', (t) => {
  rejects(t, () => parseArgs(['/media']), 'BRANCHES');
  rejects(t, () => parseArgs(['-o', 'mountpoint=/media']), 'no branches');
  rejects(t, () => parseArgs(['-o', 'branches=/a,branches=->', '/media']), 'BRANCHES');
  rejects(t, () => parseArgs(['/mnt/a:/media', '/media']), 'mountpoint', '/media');
  rejects(t, () => parseArgs(['/mnt/a::/mnt/b', '/media']), 'empty branch');
  rejects(t, () => parseArgs(['/mnt/a=XX', '/media']), 'mode');
});

test('parseArgs: -v is --version, as in mergerfs', (t) => {
  t.deepEqual(parseArgs(['-v']), { kind: 'version' });
});

// --- docs -------------------------------------------------------------------------------

test('the man page section names every option of the table', (t) => {
  const man = manOptions().replace(/\\-/g, '-');
  const missing = optionTable.map((s) => s.names[0] ?? '').filter((n) => !man.includes(n));
  t.deepEqual(missing, []);
});
