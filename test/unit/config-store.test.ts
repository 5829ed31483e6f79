// Runtime control (issue 3 item 5): ConfigStore get/set/list/onChange with
// mergerfs's errnos, immutable snapshots, and `-o config=FILE`.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyOption, defaults, findOption, functionPolicies, OptionError, splitOptions, type Config } from '../../src/config/options.js';
import { ConfigStore, controlKey, isPathKey, parseConfigText, PATH_KEYS, readConfigFile, XATTR_PREFIX } from '../../src/config/store.js';
import { Errno, FsError } from '../../src/sys/errno.js';

const dir = mkdtempSync(path.join(tmpdir(), 'braidfs-config-store-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(text: string): string {
  const p = path.join(dir, `c${files++}.conf`);
  writeFileSync(p, text);
  return p;
}

function withOpts(...opts: string[]): Config {
  const c: Config = { ...defaults };
  for (const o of opts) for (const item of splitOptions(o)) applyOption(c, item);
  return c;
}

function store(...opts: string[]): ConfigStore {
  return new ConfigStore(withOpts('branches=/mnt/a:/mnt/b=NC', 'mountpoint=/media', ...opts));
}

function fsError(t: ExecutionContext, fn: () => unknown, errno: number): FsError | undefined {
  const e = t.throws(fn, { instanceOf: FsError });
  t.is(e?.errno, errno, `wanted ${errno}, got ${e?.code ?? 'nothing'}`);
  return e;
}

// --- config files -----------------------------------------------------------------------

test('readConfigFile: one option a line, # comments and blank lines skipped, trimmed', (t) => {
  const p = file(['# pool', '', '   branches = /mnt/a=RW,10G:/mnt/b  ', '\tcategory.create=mfs', '#func.getattr=newest', 'use_ino', 'fsname=a, b = c\r', ''].join('\n'));
  t.deepEqual(readConfigFile(p), ['branches=/mnt/a=RW,10G:/mnt/b', 'category.create=mfs', 'use_ino', 'fsname=a, b = c']);
});

test('parseConfigText handles CRLF and a missing final newline', (t) => {
  t.deepEqual(parseConfigText('a=1\r\nb=2'), ['a=1', 'b=2']);
  t.deepEqual(parseConfigText(''), []);
  t.deepEqual(parseConfigText('  # only a comment\n\n'), []);
});

test('readConfigFile: an unreadable file is an OptionError naming it', (t) => {
  const missing = path.join(dir, 'nope.conf');
  const e = t.throws(() => readConfigFile(missing), { instanceOf: OptionError });
  t.true(e?.message.includes(missing) && e.message.includes('ENOENT'), e?.message);
});

test('-o config=FILE is applied in place, left to right, commas in values and all', (t) => {
  const p = file('cache.entry=7\ncache.attr=3\nbranches=/mnt/x=RO,1G:/mnt/y\ncategory.create=mfs\n');
  const c = withOpts(`cache.entry=5,config=${p},cache.attr=9`);
  t.is(c.cacheEntry, 7, 'the file overrides what came before');
  t.is(c.cacheAttr, 9, 'what comes after overrides the file');
  t.deepEqual(
    c.branches.map((b) => [b.path, b.mode, b.minFreeSpace]),
    [
      ['/mnt/x', 'RO', 1024 ** 3],
      ['/mnt/y', 'RW', undefined],
    ],
  );
  t.is(functionPolicies(c).get('mkdir').name, 'mfs');
});

test('config files nest, up to a limit', (t) => {
  const inner = file('cache.entry=11\n');
  const outer = file(`config=${inner}\ncache.attr=12\n`);
  const c = withOpts(`config=${outer}`);
  t.is(c.cacheEntry, 11);
  t.is(c.cacheAttr, 12);
  const loop = path.join(dir, 'loop.conf');
  writeFileSync(loop, `config=${loop}\n`);
  const e = t.throws(() => withOpts(`config=${loop}`), { instanceOf: OptionError });
  t.true(e?.message.includes('nested'), e?.message);
});

test('a bad line in a config file fails, naming the file and the line, and changes nothing', (t) => {
  const p = file('cache.entry=7\ninodecalc=md5\n');
  const c: Config = { ...defaults };
  const e = t.throws(() => applyOption(c, `config=${p}`), { instanceOf: OptionError });
  t.true(e?.message.includes(p) && e.message.includes('inodecalc=md5') && e.message.includes('hybrid-hash'), e?.message);
  t.deepEqual(c, { ...defaults });
  const missing = path.join(dir, 'absent.conf');
  const e2 = t.throws(() => withOpts(`config=${missing}`), { instanceOf: OptionError });
  t.true(e2?.message.includes(missing), e2?.message);
});

// --- get / list -------------------------------------------------------------------------

test('get shows each option as mergerfs would', (t) => {
  const s = store('func.getattr=newest', 'minfreespace=10G', 'cache.entry=2.5');
  t.is(s.get('branches'), '/mnt/a=RW:/mnt/b=NC');
  t.is(s.get('srcmounts'), '/mnt/a=RW:/mnt/b=NC', 'aliases work too');
  t.is(s.get('mountpoint'), '/media');
  t.is(s.get('minfreespace'), '10G');
  t.is(s.get('cache.entry'), '2.5');
  t.is(s.get('entry_timeout'), '2.5');
  t.is(s.get('cache.negative_entry'), '0');
  t.is(s.get('func.getattr'), 'newest');
  t.is(s.get('func.open'), 'ff');
  t.is(s.get('category.search'), 'ff,newest', 'a category shows the set of its functions\' policies, sorted');
  t.is(s.get('category.create'), 'pfrd');
  t.is(s.get('category.action'), 'epall');
  t.is(s.get('moveonenospc'), 'pfrd');
  t.is(s.get('inodecalc'), 'hybrid-hash');
  t.is(s.get('security-capability'), 'true');
  t.is(s.get('fsname'), '');
  t.is(s.get('pid'), String(process.pid));
  const pkg = JSON.parse(readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
  t.is(s.get('version'), pkg.version);
});

test('list names every shown option once, canonically; each can be read', (t) => {
  const s = store();
  const names = s.list();
  t.is(new Set(names).size, names.length);
  for (const n of ['branches', 'minfreespace', 'moveonenospc', 'inodecalc', 'func.getattr', 'category.create', 'cache.files', 'cache.entry', 'xattr', 'version', 'pid', 'debug']) {
    t.true(names.includes(n), n);
  }
  for (const n of ['srcmounts', 'entry_timeout', 'config', 'nullrw', 'use-ino', 'nofail', 'defaults', 'func.readdir']) t.false(names.includes(n), n);
  for (const n of names) t.notThrows(() => s.get(n), n);
  t.deepEqual(
    s.xattrNames(),
    names.map((n) => `user.braidfs.${n}`),
  );
});

test('get of an unknown or unshown option is ENODATA', (t) => {
  const s = store();
  for (const n of ['nosuch', '', 'nullrw', 'config', 'basepath']) fsError(t, () => s.get(n), Errno.ENODATA);
});

// --- set --------------------------------------------------------------------------------

test('set changes a runtime option without touching the old snapshot', (t) => {
  const s = store();
  const before = s.current;
  s.set('cache.entry', '30');
  t.is(s.current.cacheEntry, 30);
  t.is(before.cacheEntry, 1, 'a request holding the old snapshot still sees the old value');
  t.not(s.current, before);
  t.is(s.get('cache.entry'), '30');
});

test('snapshots are frozen, down to the branch specs', (t) => {
  const s = store('func.getattr=newest');
  const c = s.current;
  t.true(Object.isFrozen(c));
  t.true(Object.isFrozen(c.branches));
  t.true(c.branches.every((b) => Object.isFrozen(b)));
  t.true(Object.isFrozen(c.funcOverrides));
  t.true(Object.isFrozen(c.ignored));
  t.throws(() => {
    (c as Config).cacheEntry = 5;
  });
  t.throws(() => {
    (c.branches as unknown as unknown[]).push(1);
  });
});

test('the store copies what it is given', (t) => {
  const c = withOpts('cache.entry=4');
  const s = new ConfigStore(c);
  c.cacheEntry = 99;
  t.is(s.current.cacheEntry, 4);
});

test('set takes the mergerfs spellings and the same value syntax as -o', (t) => {
  const s = store();
  s.set('statfs_ignore', 'nc');
  t.is(s.current.statfsIgnore, 'nc');
  s.set('cache.files', 'partial');
  t.is(s.current.cacheFiles, 'partial');
  s.set('minfreespace', '1G');
  t.is(s.current.minFreeSpace, 1024 ** 3);
  s.set('moveonenospc', 'false');
  t.is(s.get('moveonenospc'), 'false');
  s.set('debug', 'true');
  t.true(s.current.debug);
});

test('set of func.* and category.* keeps the left-to-right rule', (t) => {
  const s = store();
  s.set('func.mkdir', 'mfs');
  t.is(functionPolicies(s.current).get('mkdir').name, 'mfs');
  t.is(s.get('category.create'), 'mfs,pfrd');
  s.set('category.create', 'epmfs');
  t.is(functionPolicies(s.current).get('mkdir').name, 'epmfs');
  t.is(s.get('category.create'), 'epmfs');
  s.set('func.create', 'lfs');
  t.is(s.get('func.create'), 'lfs');
  t.is(s.get('func.mkdir'), 'epmfs');
});

test('set branches takes mergerfs instructions', (t) => {
  const s = store();
  s.set('branches', '+/mnt/c=RO');
  t.is(s.get('branches'), '/mnt/a=RW:/mnt/b=NC:/mnt/c=RO');
  s.set('branches', '-/mnt/b');
  t.is(s.get('branches'), '/mnt/a=RW:/mnt/c=RO');
  s.set('branches', '+</mnt/z=RW,5G');
  t.is(s.get('branches'), '/mnt/z=RW,5G:/mnt/a=RW:/mnt/c=RO');
  s.set('branches', '/mnt/only');
  t.is(s.get('branches'), '/mnt/only=RW');
});

test('set of a mount-only option is EROFS and changes nothing', (t) => {
  const s = store();
  const before = s.current;
  for (const [n, v] of [
    ['fsname', 'x'],
    ['mountpoint', '/x'],
    ['passthrough.io', 'off'],
    ['syscalls', 'pool'],
    ['cache.writeback', 'true'],
    ['cache.symlinks', 'true'],
    ['branches-mount-timeout', '5'],
    ['ro', 'true'],
    ['allow_other', 'true'],
    ['version', '1'],
    ['pid', '1'],
    ['nullrw', 'true'],
    ['nofail', ''],
  ] as const) {
    fsError(t, () => s.set(n, v), Errno.EROFS);
  }
  t.is(s.current, before);
});

test('set of an unknown option is ENODATA', (t) => {
  const s = store();
  for (const n of ['nosuch', '', 'user.braidfs.cache.entry', 'basepath']) fsError(t, () => s.set(n, '1'), Errno.ENODATA);
});

test('set with a bad value is EINVAL, says why in its cause, and changes nothing', (t) => {
  const s = store();
  const before = s.current;
  let calls = 0;
  s.onChange(() => calls++);
  for (const [n, v] of [
    ['cache.entry', '-1'],
    ['inodecalc', 'md5'],
    ['func.getattr', 'best'],
    ['category.create', ''],
    ['branches', '/a=XX'],
    ['branches', '<>/x'],
    ['debug', ''],
    ['symlinkify', 'maybe'],
  ] as const) {
    const e = fsError(t, () => s.set(n, v), Errno.EINVAL);
    t.true(e?.cause instanceof OptionError, `${n}=${v}`);
  }
  const e = t.throws(() => s.set('inodecalc', 'md5'), { instanceOf: FsError });
  t.true(e?.cause instanceof Error && e.cause.message.includes('hybrid-hash'));
  t.is(s.current, before);
  t.is(calls, 0);
});

test('set of a runtime option braidfs ignores is accepted and noted in ignored', (t) => {
  const s = store();
  const names: string[] = [];
  s.onChange((_c, n) => names.push(n));
  s.set('symlinkify', 'true');
  s.set('follow_symlinks', 'all');
  t.deepEqual(s.current.ignored, ['symlinkify', 'follow-symlinks']);
  t.deepEqual(names, ['symlinkify', 'follow-symlinks']);
  fsError(t, () => s.get('symlinkify'), Errno.ENODATA);
});

test('onChange hears every successful set with the new snapshot and the canonical name', (t) => {
  const s = store();
  const seen: Array<[Readonly<Config>, string]> = [];
  const off = s.onChange((c, n) => seen.push([c, n]));
  s.set('entry_timeout', '3');
  s.set('cache.files', 'full');
  t.is(seen.length, 2);
  t.is(seen[0]?.[1], 'cache.entry');
  t.is(seen[0]?.[0].cacheEntry, 3);
  t.is(seen[1]?.[1], 'cache.files');
  t.is(seen[1]?.[0], s.current, 'the listener gets the snapshot now in force');
  off();
  s.set('cache.attr', '4');
  t.is(seen.length, 2, 'unsubscribed');
});

test('a listener that throws does not undo the change nor starve the others', (t) => {
  const s = store();
  let heard = 0;
  s.onChange(() => {
    throw new Error('boom');
  });
  s.onChange(() => heard++);
  t.throws(() => s.set('cache.attr', '8'), { message: 'boom' });
  t.is(s.current.cacheAttr, 8);
  t.is(heard, 1);
});

test('set config=FILE applies runtime options from a file, all or nothing', (t) => {
  const s = store();
  s.set('config', file('cache.entry=21\nfunc.getattr=newest\n'));
  t.is(s.current.cacheEntry, 21);
  t.is(s.get('func.getattr'), 'newest');
  const before = s.current;
  const e = fsError(t, () => s.set('config', file('cache.entry=22\nfsname=nope\n')), Errno.EINVAL);
  t.true(e?.cause instanceof Error && e.cause.message.includes('fsname'), 'a mount-only line spoils the whole file');
  t.is(s.current, before);
});

// --- names --------------------------------------------------------------------------------

test('control xattr names', (t) => {
  t.is(XATTR_PREFIX, 'user.braidfs.');
  t.is(controlKey('user.braidfs.cache.files'), 'cache.files');
  t.is(controlKey('user.braidfs.'), undefined);
  t.is(controlKey('user.mergerfs.cache.files'), undefined);
  t.is(controlKey('security.capability'), undefined);
  t.deepEqual([...PATH_KEYS], ['basepath', 'relpath', 'fullpath', 'allpaths']);
  for (const k of PATH_KEYS) {
    t.true(isPathKey(k));
    t.is(findOption(k), undefined, `${k} must not clash with an option`);
  }
  t.false(isPathKey('branches'));
});
