// Runtime control (reference §3.9): the hidden file MOUNT/.braidfs whose
// user.braidfs.<option> xattrs read and change options while mounted
// (mergerfs's /.mergerfs); mount-only options refuse with EROFS, unknown
// names with ENODATA ("No such attribute"), bad values with EINVAL. Any path
// answers user.braidfs.basepath|relpath|fullpath|allpaths.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import type { Mounted } from '../../helpers/mount.js';
import { run, type RunResult } from '../util.js';
import { errnoOf, makeBranches, mountBraidfs, put, putDir, type BranchDef, type Fixture } from './fixture.js';

const DEFS: readonly BranchDef[] = [
  { name: 'a', size: 8 },
  { name: 'b', size: 32 },
  { name: 'c', size: 8 },
];

const CTL = '.braidfs';

async function setup(t: ExecutionContext, options: string[], populate?: (fx: Fixture) => void, defs: readonly BranchDef[] = DEFS): Promise<{ fx: Fixture; m: Mounted }> {
  const fx = makeBranches(t, defs, populate);
  const m = await mountBraidfs(t, fx, ['minfreespace=1M', 'cache.attr=0', 'cache.entry=0', 'cache.negative_entry=0', ...options]);
  return { fx, m };
}

async function getOpt(m: Mounted, name: string): Promise<RunResult> {
  return run('getfattr', ['--only-values', '-n', `user.braidfs.${name}`, m.path(CTL)]);
}

async function optValue(t: ExecutionContext, m: Mounted, name: string): Promise<string> {
  const r = await getOpt(m, name);
  t.is(r.code, 0, `getfattr user.braidfs.${name}: ${r.stderr}`);
  return r.stdout;
}

async function setOpt(m: Mounted, name: string, value: string): Promise<RunResult> {
  return run('setfattr', ['-n', `user.braidfs.${name}`, '-v', value, m.path(CTL)]);
}

/** The raw value of a per-path key (user.braidfs.allpaths etc.) of a path in the mount. */
async function pathKey(path: string, key: string): Promise<RunResult> {
  return run('getfattr', ['--only-values', '-n', `user.braidfs.${key}`, path]);
}

test.serial('getfattr -d -m - MOUNT/.braidfs lists the options with their current values', async (t) => {
  const { fx, m } = await setup(t, [
    'category.create=mfs',
    'func.getattr=newest',
    'moveonenospc=lfs',
    'link-exdev=rel-symlink',
    'rename-exdev=abs-symlink',
    'inodecalc=path-hash',
    'statfs=full',
    'statfs_ignore=ro',
  ]);
  const r = await run('getfattr', ['-d', '-m', '-', m.path(CTL)]);
  t.is(r.code, 0, r.stderr);
  const values = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const mm = /^user\.braidfs\.([^=]+)="(.*)"$/.exec(line);
    if (mm) values.set(mm[1]!, mm[2]!);
  }
  const want: Record<string, string> = {
    'category.create': 'mfs',
    'category.action': 'epall',
    'func.create': 'mfs',
    'func.mkdir': 'mfs',
    'func.getattr': 'newest',
    'func.open': 'ff',
    'func.unlink': 'epall',
    minfreespace: '1M',
    moveonenospc: 'lfs',
    'link-exdev': 'rel-symlink',
    'rename-exdev': 'abs-symlink',
    inodecalc: 'path-hash',
    statfs: 'full',
    'statfs-ignore': 'ro',
  };
  for (const [k, v] of Object.entries(want)) t.is(values.get(k), v, `user.braidfs.${k}`);
  t.true(values.get('branches')?.includes(fx.dir('a')) ?? false, `branches shows the branch list: ${values.get('branches') ?? '(missing)'}`);
  t.is(values.get('pid'), String(m.pid), 'pid is the daemon’s');
  t.true(values.has('version'));
  // The per-path query keys are not options and are not listed.
  t.false(values.has('allpaths'));
  t.false(values.has('basepath'));
  // mergerfs accepts `_` for `-`; reading through the old spelling works too.
  t.is(await optValue(t, m, 'statfs_ignore'), 'ro');
});

test.serial('setfattr user.braidfs.category.create takes effect at once: the next create lands where the new policy says', async (t) => {
  const { fx, m } = await setup(t, ['category.create=mfs']);
  writeFileSync(m.path('before'), '');
  t.deepEqual(fx.where('before'), ['b'], 'mfs: b has the most free space');
  const r = await setOpt(m, 'category.create', 'ff');
  t.is(r.code, 0, r.stderr);
  t.is(await optValue(t, m, 'category.create'), 'ff');
  t.is(await optValue(t, m, 'func.create'), 'ff');
  t.is(await optValue(t, m, 'func.mkdir'), 'ff');
  for (let i = 0; i < 5; i++) writeFileSync(m.path(`after${i}`), '');
  mkdirSync(m.path('dir-after'));
  t.deepEqual(
    [0, 1, 2, 3, 4].map((i) => fx.where(`after${i}`).join(',')).concat(fx.where('dir-after').join(',')),
    ['a', 'a', 'a', 'a', 'a', 'a'],
    'ff: the first branch, every time',
  );
});

test.serial('setfattr func.mkdir alone changes only mkdir; func.getattr=newest changes what stat shows at once', async (t) => {
  const { fx, m } = await setup(t, ['category.create=mfs'], (f) => {
    put(f, 'a', 'same', 'x'.repeat(10));
    put(f, 'c', 'same', 'y'.repeat(20));
  });
  t.is((await setOpt(m, 'func.mkdir', 'ff')).code, 0);
  mkdirSync(m.path('d'));
  writeFileSync(m.path('f'), '');
  t.deepEqual({ d: fx.where('d'), f: fx.where('f') }, { d: ['a'], f: ['b'] });
  t.is(statSync(m.path('same')).size, 10, 'ff: a’s copy');
  t.is((await setOpt(m, 'func.getattr', 'newest')).code, 0);
  // c's copy was written last, so it is the newest.
  t.is(statSync(m.path('same')).size, 20, 'newest: c’s copy');
});

test.serial('setfattr minfreespace and moveonenospc change at run time', async (t) => {
  const { m } = await setup(t, []);
  t.is((await setOpt(m, 'minfreespace', '100M')).code, 0);
  t.is(await optValue(t, m, 'minfreespace'), '100M');
  t.is(errnoOf(() => writeFileSync(m.path('f'), '')), 'ENOSPC', 'no branch has 100M free');
  t.is((await setOpt(m, 'minfreespace', '1M')).code, 0);
  t.is(errnoOf(() => writeFileSync(m.path('f'), '')), 'OK');
  t.is((await setOpt(m, 'moveonenospc', 'mfs')).code, 0);
  t.is(await optValue(t, m, 'moveonenospc'), 'mfs');
  t.is((await setOpt(m, 'moveonenospc', 'false')).code, 0);
  t.is(await optValue(t, m, 'moveonenospc'), 'false');
});

test.serial('setfattr user.braidfs.branches edits the pool at run time (append, then remove)', async (t) => {
  const fx = makeBranches(t, DEFS, (f) => put(f, 'c', 'from-c', 'c'));
  // Mounted over a and b only: c is not part of the pool yet.
  const m = await mountBraidfs(t, fx, ['minfreespace=1M', 'cache.entry=0', 'cache.negative_entry=0'], ['a', 'b']);
  t.false(readdirSync(m.path()).includes('from-c'));
  const add = await setOpt(m, 'branches', `+>${fx.dir('c')}`);
  t.is(add.code, 0, add.stderr);
  t.true((await optValue(t, m, 'branches')).includes(fx.dir('c')));
  t.true(readdirSync(m.path()).includes('from-c'), 'c’s file shows after appending c');
  const del = await setOpt(m, 'branches', `-${fx.dir('c')}`);
  t.is(del.code, 0, del.stderr);
  t.false(readdirSync(m.path()).includes('from-c'), 'and is gone after removing c');
});

test.serial('a mount-only option refuses with EROFS ("Read-only file system") and keeps its value', async (t) => {
  const { m } = await setup(t, []);
  for (const [name, value] of [
    ['fsname', 'other'],
    ['passthrough.io', 'off'],
    ['mountpoint', '/tmp'],
    ['pid', '1'],
  ] as const) {
    const before = (await getOpt(m, name)).stdout;
    const r = await setOpt(m, name, value);
    t.not(r.code, 0, `${name} must not be settable`);
    t.regex(r.stderr, /Read-only file system/, `${name}: ${r.stderr}`);
    t.is((await getOpt(m, name)).stdout, before, `${name} unchanged`);
  }
});

test.serial('an unknown option errors (ENODATA, "No such attribute"); a bad value errors (EINVAL) and changes nothing', async (t) => {
  const { m } = await setup(t, ['category.create=mfs']);
  const set = await setOpt(m, 'no.such.option', 'x');
  t.not(set.code, 0);
  t.regex(set.stderr, /No such attribute|No data available/, set.stderr);
  const get = await getOpt(m, 'no.such.option');
  t.not(get.code, 0);
  t.regex(get.stderr, /No such attribute|No data available/, get.stderr);
  const bad = await setOpt(m, 'category.create', 'no-such-policy');
  t.not(bad.code, 0);
  t.regex(bad.stderr, /Invalid argument/, bad.stderr);
  t.is(await optValue(t, m, 'category.create'), 'mfs', 'unchanged');
  const badSize = await setOpt(m, 'minfreespace', 'lots');
  t.regex(badSize.stderr, /Invalid argument/, badSize.stderr);
});

test.serial('.braidfs is hidden from ls -a but can be stat’ed (stat, ls -l, statx) as a regular file', async (t) => {
  const { m } = await setup(t, []);
  const ls = await run('ls', ['-a', m.path()]);
  t.is(ls.code, 0);
  t.false(ls.stdout.split('\n').includes(CTL), `ls -a: ${ls.stdout}`);
  t.false(readdirSync(m.path()).includes(CTL));
  // stat(2) (FUSE GETATTR), as python's os.stat does it.
  const py = await run('python3', ['-c', 'import os, stat, sys; s = os.stat(sys.argv[1]); print(stat.S_ISREG(s.st_mode), oct(s.st_mode & 0o7777))', m.path(CTL)]);
  t.is(py.stdout.trim(), 'True 0o664', `stat(2): ${py.stderr}`);
  // statx(2) (FUSE STATX when btime is asked for), as node and coreutils do it.
  t.is(errnoOf(() => statSync(m.path(CTL))), 'OK', 'statx(2) via node fs.statSync');
  const s = await run('stat', ['-c', '%F %a', m.path(CTL)]);
  t.is(s.code, 0, `stat(1) of .braidfs: ${s.stderr}`);
  t.is(s.stdout.trim(), 'regular empty file 664');
  // Only at the root.
  mkdirSync(m.path('sub'));
  t.is(errnoOf(() => statSync(m.path('sub', CTL))), 'ENOENT');
});

test.serial('getfattr -n user.braidfs.allpaths lists every branch copy; basepath/relpath/fullpath follow the search policy', async (t) => {
  const { fx, m } = await setup(t, [], (f) => {
    put(f, 'a', 'd/f', 'A');
    put(f, 'c', 'd/f', 'C');
    putDir(f, 'b', 'd');
    put(f, 'b', 'onlyb', 'B');
  });
  const all = await pathKey(m.path('d/f'), 'allpaths');
  t.is(all.code, 0, all.stderr);
  t.deepEqual(all.stdout.split('\0').filter((s) => s !== ''), [fx.at('a', 'd/f'), fx.at('c', 'd/f')]);
  const dirs = await pathKey(m.path('d'), 'allpaths');
  t.deepEqual(dirs.stdout.split('\0').filter((s) => s !== ''), [fx.at('a', 'd'), fx.at('b', 'd'), fx.at('c', 'd')]);
  t.is((await pathKey(m.path('d/f'), 'basepath')).stdout, fx.dir('a'));
  t.is((await pathKey(m.path('d/f'), 'relpath')).stdout, '/d/f');
  t.is((await pathKey(m.path('d/f'), 'fullpath')).stdout, fx.at('a', 'd/f'));
  t.is((await pathKey(m.path('onlyb'), 'fullpath')).stdout, fx.at('b', 'onlyb'));
  // Not listed among the file's xattrs.
  const listed = await run('getfattr', ['-d', '-m', '-', m.path('d/f')]);
  t.false(listed.stdout.includes('user.braidfs.'), listed.stdout);
  // mergerfs passes a setxattr of these names on a regular path to the
  // branches like any other xattr; the query still answers, not the stored value.
  await run('setfattr', ['-n', 'user.braidfs.allpaths', '-v', 'x', m.path('d/f')]);
  const again = await pathKey(m.path('d/f'), 'allpaths');
  t.deepEqual(again.stdout.split('\0').filter((s) => s !== ''), [fx.at('a', 'd/f'), fx.at('c', 'd/f')], 'still the computed answer');
});
