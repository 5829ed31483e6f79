// Search and action policies (reference §2.2, §2.3, §3.2, §3.5).
//
// search: getattr = lstat of the copy func.getattr picks (ff: the first
// branch holding the path; newest: the copy with the largest mtime), with no
// merging of sizes or times, and no RO filtering.
// action (default epall): every branch holding the path that is not RO (NC
// branches are acted on; NC only keeps creates away); a path only on RO
// branches gives EROFS; unlink succeeds if any branch did; rmdir reports
// ENOTEMPTY if any acted-on copy is not empty.
//
// Branches, in order: a (RW), b (RW), ro (RO), nc (NC).
import test, { type ExecutionContext } from 'ava';
import { chmodSync, existsSync, lstatSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { run } from '../util.js';
import { errnoOf, makeBranches, mountBraidfs, put, putDir, truncatePath, type BranchDef, type Fixture } from './fixture.js';

const DEFS: readonly BranchDef[] = [
  { name: 'a', size: 8, minfree: '1M' },
  { name: 'b', size: 8, minfree: '1M' },
  { name: 'ro', size: 8, mode: 'RO', minfree: '1M' },
  { name: 'nc', size: 8, mode: 'NC', minfree: '1M' },
];

const mode = (p: string): string => (lstatSync(p).mode & 0o7777).toString(8);

function populate(fx: Fixture): void {
  // Two copies that differ in size and mtime: a is older and smaller.
  put(fx, 'a', 'same', 'x'.repeat(10));
  put(fx, 'b', 'same', 'y'.repeat(20));
  utimesSync(fx.at('a', 'same'), 1000, 1000);
  utimesSync(fx.at('b', 'same'), 5000, 5000);
  // The newest copy is on the RO branch: search does not filter RO.
  put(fx, 'a', 'same-ro', 'x'.repeat(10));
  put(fx, 'ro', 'same-ro', 'z'.repeat(30));
  utimesSync(fx.at('a', 'same-ro'), 1000, 1000);
  utimesSync(fx.at('ro', 'same-ro'), 9000, 9000);
  // Directories with copies of different mtimes.
  for (const [b, mt] of [['a', 1000], ['b', 7000]] as const) {
    putDir(fx, b, 'dir');
    utimesSync(fx.at(b, 'dir'), mt, mt);
  }
}

async function setup(t: ExecutionContext, options: string[]): Promise<{ fx: Fixture; m: { path(...p: string[]): string } }> {
  const fx = makeBranches(t, DEFS, populate);
  const m = await mountBraidfs(t, fx, ['cache.attr=0', 'cache.entry=0', ...options]);
  return { fx, m };
}

test.serial('func.getattr=ff: stat shows the first branch’s copy (size, mtime), never a merge', async (t) => {
  const { m } = await setup(t, ['func.getattr=ff']);
  const s = statSync(m.path('same'));
  t.deepEqual({ size: s.size, mtime: s.mtimeMs / 1000 }, { size: 10, mtime: 1000 }, 'a’s copy');
  const r = statSync(m.path('same-ro'));
  t.deepEqual({ size: r.size, mtime: r.mtimeMs / 1000 }, { size: 10, mtime: 1000 }, 'a’s copy, ahead of ro');
  t.is(statSync(m.path('dir')).mtimeMs / 1000, 1000, 'directory: a’s mtime, not the newest');
});

test.serial('func.getattr=newest: stat shows the copy with the largest mtime, RO branches included', async (t) => {
  const { m } = await setup(t, ['func.getattr=newest']);
  const s = statSync(m.path('same'));
  t.deepEqual({ size: s.size, mtime: s.mtimeMs / 1000 }, { size: 20, mtime: 5000 }, 'b’s copy');
  const r = statSync(m.path('same-ro'));
  t.deepEqual({ size: r.size, mtime: r.mtimeMs / 1000 }, { size: 30, mtime: 9000 }, 'ro’s copy (search ignores RO)');
  t.is(statSync(m.path('dir')).mtimeMs / 1000, 7000, 'directory: b’s newer mtime');
});

test.serial('category.search=newest sets getattr too (and a later func.getattr=ff overrides it)', async (t) => {
  const { m } = await setup(t, ['category.search=newest']);
  t.is(statSync(m.path('same')).size, 20);
  const fx2 = makeBranches(t, DEFS, populate);
  const m2 = await mountBraidfs(t, fx2, ['cache.attr=0', 'category.search=newest', 'func.getattr=ff']);
  t.is(statSync(m2.path('same')).size, 10);
});

test.serial('chmod, truncate, utimens (epall) act on every non-RO branch holding the file (NC included), never on RO', async (t) => {
  const { fx, m } = await setup(t, []);
  for (const b of ['a', 'b', 'ro', 'nc']) put(fx, b, 'multi', 'content');
  t.is(errnoOf(() => chmodSync(m.path('multi'), 0o600)), 'OK');
  t.deepEqual(
    Object.fromEntries(['a', 'b', 'ro', 'nc'].map((b) => [b, mode(fx.at(b, 'multi'))])),
    { a: '600', b: '600', ro: '644', nc: '600' },
  );
  t.is(mode(m.path('multi')), '600', 'stat through the mount (ff → a)');
  t.is(truncatePath(m.path('multi'), 2), 'OK', 'truncate(2) by path');
  t.deepEqual(
    Object.fromEntries(['a', 'b', 'ro', 'nc'].map((b) => [b, lstatSync(fx.at(b, 'multi')).size])),
    { a: 2, b: 2, ro: 7, nc: 2 },
  );
  t.is(errnoOf(() => utimesSync(m.path('multi'), 4242, 4242)), 'OK');
  t.deepEqual(
    Object.fromEntries(['a', 'b', 'ro', 'nc'].map((b) => [b, lstatSync(fx.at(b, 'multi')).mtimeMs / 1000 === 4242])),
    { a: true, b: true, ro: false, nc: true },
  );
});

test.serial('setxattr (epall) acts on every non-RO copy', async (t) => {
  const { fx, m } = await setup(t, []);
  for (const b of ['a', 'ro', 'nc']) put(fx, b, 'xa', '');
  const r = await run('setfattr', ['-n', 'user.test', '-v', 'v1', m.path('xa')]);
  t.is(r.code, 0, r.stderr);
  const has = async (b: string): Promise<boolean> => (await run('getfattr', ['-n', 'user.test', fx.at(b, 'xa')])).code === 0;
  t.deepEqual({ a: await has('a'), ro: await has('ro'), nc: await has('nc') }, { a: true, ro: false, nc: true });
});

test.serial('unlink (epall) removes every non-RO copy; the RO copy stays and is still visible', async (t) => {
  const { fx, m } = await setup(t, []);
  for (const b of ['a', 'b', 'ro', 'nc']) put(fx, b, 'multi', 'content');
  t.is(errnoOf(() => unlinkSync(m.path('multi'))), 'OK');
  t.deepEqual(fx.where('multi'), ['ro']);
  t.true(existsSync(m.path('multi')), 'the RO copy still shows through the mount');
});

test.serial('a file only on an RO branch: unlink, chmod, truncate, utimens, rename → EROFS; stat works', async (t) => {
  const { fx, m } = await setup(t, []);
  put(fx, 'ro', 'roonly', 'data');
  t.is(statSync(m.path('roonly')).size, 4, 'search does not filter RO');
  t.is(errnoOf(() => unlinkSync(m.path('roonly'))), 'EROFS', 'unlink');
  t.is(errnoOf(() => chmodSync(m.path('roonly'), 0o600)), 'EROFS', 'chmod');
  t.is(truncatePath(m.path('roonly'), 1), 'EROFS', 'truncate(2) by path');
  t.is(errnoOf(() => utimesSync(m.path('roonly'), 1, 1)), 'EROFS', 'utimens');
  t.is(errnoOf(() => renameSync(m.path('roonly'), m.path('moved'))), 'EROFS', 'rename');
  t.deepEqual(fx.where('roonly'), ['ro']);
  t.is(mode(fx.at('ro', 'roonly')), '644');
});

test.serial('a file only on an NC branch: unlink and chmod act on it (NC only blocks creates)', async (t) => {
  const { fx, m } = await setup(t, []);
  put(fx, 'nc', 'nconly', 'data');
  put(fx, 'nc', 'nconly2', 'data');
  t.is(errnoOf(() => chmodSync(m.path('nconly'), 0o600)), 'OK');
  t.is(mode(fx.at('nc', 'nconly')), '600');
  t.is(errnoOf(() => unlinkSync(m.path('nconly2'))), 'OK');
  t.deepEqual(fx.where('nconly2'), []);
});

test.serial('rmdir: empty copies everywhere → removed from every non-RO branch', async (t) => {
  const { fx, m } = await setup(t, []);
  for (const b of ['a', 'b', 'nc']) putDir(fx, b, 'e1');
  t.is(errnoOf(() => rmdirSync(m.path('e1'))), 'OK');
  t.deepEqual(fx.where('e1'), []);
  t.false(existsSync(m.path('e1')));
});

test.serial('rmdir: ENOTEMPTY when any acted-on copy has entries (the other branch’s, NC’s, or its own)', async (t) => {
  const { fx, m } = await setup(t, []);
  // Empty on a, not empty on b.
  putDir(fx, 'a', 'e2');
  put(fx, 'b', 'e2/x', 'x');
  // Not empty on a alone.
  put(fx, 'a', 'e3/y', 'y');
  // Empty on a, not empty on the NC branch (action policies include NC).
  putDir(fx, 'a', 'e6');
  put(fx, 'nc', 'e6/z', 'z');
  t.is(errnoOf(() => rmdirSync(m.path('e2'))), 'ENOTEMPTY', 'empty on a, entries on b');
  t.deepEqual(readdirSync(m.path('e2')), ['x'], 'e2 and its entry still there');
  t.is(errnoOf(() => rmdirSync(m.path('e3'))), 'ENOTEMPTY', 'entries on a');
  t.deepEqual(fx.where('e3/y'), ['a']);
  t.is(errnoOf(() => rmdirSync(m.path('e6'))), 'ENOTEMPTY', 'entries on nc');
  t.deepEqual(readdirSync(m.path('e6')), ['z']);
});

test.serial('rmdir: a directory only on an RO branch → EROFS; a copy on RO is left alone (mergerfs acts on non-RO copies only)', async (t) => {
  const { fx, m } = await setup(t, []);
  putDir(fx, 'ro', 'e4');
  t.is(errnoOf(() => rmdirSync(m.path('e4'))), 'EROFS');
  t.deepEqual(fx.where('e4'), ['ro']);
  // Empty on a, not empty on ro: the action policy never looks at ro, so the
  // rmdir of a's copy succeeds and the RO copy (with its entry) stays visible.
  putDir(fx, 'a', 'e5');
  put(fx, 'ro', 'e5/r', 'r');
  t.is(errnoOf(() => rmdirSync(m.path('e5'))), 'OK');
  t.deepEqual(fx.where('e5'), ['ro']);
  t.deepEqual(readdirSync(m.path('e5')), ['r']);
});

test.serial('rmdir / unlink of a name nowhere → ENOENT; rmdir of a file → ENOTDIR; unlink of a directory → EISDIR', async (t) => {
  const { fx, m } = await setup(t, []);
  put(fx, 'a', 'plain', '');
  putDir(fx, 'b', 'adir');
  t.is(errnoOf(() => rmdirSync(m.path('nowhere'))), 'ENOENT');
  t.is(errnoOf(() => unlinkSync(m.path('nowhere'))), 'ENOENT');
  t.is(errnoOf(() => rmdirSync(m.path('plain'))), 'ENOTDIR');
  t.is(errnoOf(() => unlinkSync(m.path('adir'))), 'EISDIR');
});
