// rename and link across branches (reference §3.3).
//
// Non-path-preserving create policy (default pfrd, ff, mfs, …): a rename or
// link happens on the branch(es) holding the source; if the target's
// directory is missing there, it is cloned from where the getattr policy finds
// it, and the operation retried. Path-preserving (ep*, msp*): nothing is
// cloned; a rename that succeeds nowhere is EXDEV, a link whose target
// directory is missing is EXDEV, and link-exdev / rename-exdev may turn that
// EXDEV into a symlink. A rename removes copies of the target on branches
// that did not hold the source, so no stale copy shadows the renamed file.
//
// Branches: a, b (both RW, 1M minfreespace each).
import test, { type ExecutionContext } from 'ava';
import { linkSync, lstatSync, readFileSync, readlinkSync, renameSync, statSync } from 'node:fs';
import { errnoOf, makeBranches, mountBraidfs, put, putDir, type BranchDef, type Fixture } from './fixture.js';

const DEFS: readonly BranchDef[] = [
  { name: 'a', size: 8, minfree: '1M' },
  { name: 'b', size: 8, minfree: '1M' },
];

async function setup(t: ExecutionContext, options: string[], populate: (fx: Fixture) => void): Promise<{ fx: Fixture; m: { path(...p: string[]): string } }> {
  const fx = makeBranches(t, DEFS, populate);
  const m = await mountBraidfs(t, fx, ['cache.attr=0', 'cache.entry=0', 'cache.negative_entry=0', ...options]);
  return { fx, m };
}

const read = (p: string): string => readFileSync(p, 'utf8');

// --- rename -------------------------------------------------------------------------

test.serial('rename within one branch: the file moves on that branch only', async (t) => {
  const { fx, m } = await setup(t, [], (fx) => put(fx, 'a', 'd/f', 'hello'));
  t.is(errnoOf(() => renameSync(m.path('d/f'), m.path('d/g'))), 'OK');
  t.deepEqual(fx.where('d/f'), []);
  t.deepEqual(fx.where('d/g'), ['a']);
  t.deepEqual(fx.where('d'), ['a'], 'nothing created on b');
  t.is(read(m.path('d/g')), 'hello');
});

test.serial('rename into a directory only on another branch, default create policy (pfrd, not path-preserving): the directory is cloned', async (t) => {
  const { fx, m } = await setup(t, [], (fx) => {
    put(fx, 'a', 'src/f', 'payload');
    putDir(fx, 'b', 'dst');
  });
  t.is(errnoOf(() => renameSync(m.path('src/f'), m.path('dst/f'))), 'OK');
  t.deepEqual(fx.where('dst/f'), ['a'], 'renamed on a, the source’s branch');
  t.deepEqual(fx.where('dst'), ['a', 'b'], 'dst cloned onto a');
  t.deepEqual(fx.where('src/f'), []);
  t.is(read(m.path('dst/f')), 'payload');
});

test.serial('rename into a directory only on another branch, category.create=ff (not path-preserving): cloned', async (t) => {
  const { fx, m } = await setup(t, ['category.create=ff'], (fx) => {
    put(fx, 'a', 'src/f', 'payload');
    putDir(fx, 'b', 'dst');
  });
  t.is(errnoOf(() => renameSync(m.path('src/f'), m.path('dst/f'))), 'OK');
  t.deepEqual(fx.where('dst/f'), ['a']);
});

for (const policy of ['epmfs', 'epff', 'mspmfs']) {
  test.serial(`rename into a directory only on another branch, category.create=${policy} (path-preserving): EXDEV, nothing changes`, async (t) => {
    const { fx, m } = await setup(t, [`category.create=${policy}`], (fx) => {
      put(fx, 'a', 'src/f', 'payload');
      putDir(fx, 'b', 'dst');
    });
    t.is(errnoOf(() => renameSync(m.path('src/f'), m.path('dst/f'))), 'EXDEV');
    t.deepEqual(fx.where('src/f'), ['a'], 'source untouched');
    t.deepEqual(fx.where('dst'), ['b'], 'dst not cloned');
    t.deepEqual(fx.where('dst/f'), []);
  });
}

test.serial('ignorepponrename=true: a path-preserving create policy no longer makes rename EXDEV', async (t) => {
  const { fx, m } = await setup(t, ['category.create=epmfs', 'ignorepponrename=true'], (fx) => {
    put(fx, 'a', 'src/f', 'payload');
    putDir(fx, 'b', 'dst');
  });
  t.is(errnoOf(() => renameSync(m.path('src/f'), m.path('dst/f'))), 'OK');
  t.deepEqual(fx.where('dst/f'), ['a']);
});

test.serial('path-preserving rename where the target directory exists on the source’s branch works', async (t) => {
  const { fx, m } = await setup(t, ['category.create=epmfs'], (fx) => {
    put(fx, 'a', 'src/f', 'payload');
    putDir(fx, 'a', 'dst');
    putDir(fx, 'b', 'dst');
  });
  t.is(errnoOf(() => renameSync(m.path('src/f'), m.path('dst/f'))), 'OK');
  t.deepEqual(fx.where('dst/f'), ['a']);
});

test.serial('rename over a name that exists on another branch removes the stale copy: the renamed file is what you see', async (t) => {
  const { fx, m } = await setup(t, [], (fx) => {
    // The stale target is on a, the FIRST branch: left alone it would shadow the renamed file.
    put(fx, 'a', 'y', 'old-y');
    put(fx, 'b', 'x', 'new-x');
    // And the reverse: stale copy on the later branch.
    put(fx, 'a', 'p', 'new-p');
    put(fx, 'b', 'q', 'old-q');
  });
  t.is(errnoOf(() => renameSync(m.path('x'), m.path('y'))), 'OK');
  t.deepEqual(fx.where('y'), ['b'], 'a’s stale y removed');
  t.deepEqual(fx.where('x'), []);
  t.is(read(m.path('y')), 'new-x');
  t.is(errnoOf(() => renameSync(m.path('p'), m.path('q'))), 'OK');
  t.deepEqual(fx.where('q'), ['a'], 'b’s stale q removed');
  t.is(read(m.path('q')), 'new-p');
});

test.serial('rename of a file held by two branches renames both copies', async (t) => {
  const { fx, m } = await setup(t, [], (fx) => {
    put(fx, 'a', 'two', 'A');
    put(fx, 'b', 'two', 'B');
  });
  t.is(errnoOf(() => renameSync(m.path('two'), m.path('renamed'))), 'OK');
  t.deepEqual(fx.where('two'), []);
  t.deepEqual(fx.where('renamed'), ['a', 'b']);
  t.is(read(m.path('renamed')), 'A');
});

test.serial('rename-exdev=rel-symlink: a path-preserving EXDEV rename becomes a move aside plus a symlink', async (t) => {
  const { fx, m } = await setup(t, ['category.create=epmfs', 'rename-exdev=rel-symlink'], (fx) => {
    put(fx, 'a', 'src/f', 'payload');
    putDir(fx, 'b', 'dst');
  });
  t.is(errnoOf(() => renameSync(m.path('src/f'), m.path('dst/f'))), 'OK');
  t.true(lstatSync(m.path('dst/f')).isSymbolicLink(), 'the new name is a symlink');
  t.is(read(m.path('dst/f')), 'payload', 'and it resolves to the file');
  t.is(errnoOf(() => statSync(m.path('src/f'))), 'ENOENT', 'the old name is gone');
  t.deepEqual(fx.where('src/f'), []);
  t.deepEqual(fx.where('.braidfs_rename_exdev/src/f'), ['a'], 'moved aside on its own branch (mergerfs: .mergerfs_rename_exdev)');
});

// --- link ---------------------------------------------------------------------------

test.serial('hard link on the source’s branch: same st_ino, nlink 2, on that branch only', async (t) => {
  const { fx, m } = await setup(t, [], (fx) => put(fx, 'b', 'h', 'data'));
  t.is(errnoOf(() => linkSync(m.path('h'), m.path('h2'))), 'OK');
  t.deepEqual(fx.where('h2'), ['b']);
  const s1 = statSync(m.path('h'));
  const s2 = statSync(m.path('h2'));
  t.is(s1.ino, s2.ino, 'same inode number through the mount');
  t.is(s1.nlink, 2);
  t.is(s2.nlink, 2);
  t.is(lstatSync(fx.at('b', 'h')).ino, lstatSync(fx.at('b', 'h2')).ino, 'a real hard link on b');
});

test.serial('link into a directory missing on the source’s branch, default policy (not path-preserving): cloned, linked there', async (t) => {
  const { fx, m } = await setup(t, [], (fx) => {
    put(fx, 'a', 's', 'data');
    putDir(fx, 'b', 'ldir');
  });
  t.is(errnoOf(() => linkSync(m.path('s'), m.path('ldir/s'))), 'OK');
  t.deepEqual(fx.where('ldir/s'), ['a']);
  t.deepEqual(fx.where('ldir'), ['a', 'b'], 'ldir cloned onto a');
  t.is(lstatSync(fx.at('a', 'ldir/s')).ino, lstatSync(fx.at('a', 's')).ino);
  t.is(statSync(m.path('ldir/s')).nlink, 2);
});

test.serial('link into a directory missing on the source’s branch, category.create=epff (path-preserving): EXDEV', async (t) => {
  const { fx, m } = await setup(t, ['category.create=epff'], (fx) => {
    put(fx, 'a', 's', 'data');
    putDir(fx, 'b', 'ldir');
  });
  t.is(errnoOf(() => linkSync(m.path('s'), m.path('ldir/s'))), 'EXDEV');
  t.deepEqual(fx.where('ldir'), ['b'], 'nothing cloned');
  t.deepEqual(fx.where('ldir/s'), []);
});

test.serial('link-exdev=rel-symlink: the path-preserving EXDEV link becomes a relative symlink', async (t) => {
  const { fx, m } = await setup(t, ['category.create=epff', 'link-exdev=rel-symlink'], (fx) => {
    put(fx, 'a', 's', 'data');
    putDir(fx, 'b', 'ldir');
  });
  t.is(errnoOf(() => linkSync(m.path('s'), m.path('ldir/s'))), 'OK');
  // The symlink is a create in ldir/, which only b has (epff).
  t.deepEqual(fx.where('ldir/s'), ['b']);
  t.true(lstatSync(fx.at('b', 'ldir/s')).isSymbolicLink(), 'a symlink on b, not a hard link');
  t.is(readlinkSync(fx.at('b', 'ldir/s')), '../s');
  t.true(lstatSync(m.path('ldir/s')).isSymbolicLink(), 'seen as a symlink through the mount');
  t.is(readlinkSync(m.path('ldir/s')), '../s');
  t.is(read(m.path('ldir/s')), 'data');
  t.is(statSync(m.path('s')).nlink, 1, 'no hard link was made');
});

test.serial('link-exdev=abs-pool-symlink: the symlink points at the source through the mount', async (t) => {
  const { fx, m } = await setup(t, ['category.create=epff', 'link-exdev=abs-pool-symlink'], (fx) => {
    put(fx, 'a', 's', 'data');
    putDir(fx, 'b', 'ldir');
  });
  t.is(errnoOf(() => linkSync(m.path('s'), m.path('ldir/s'))), 'OK');
  t.is(readlinkSync(m.path('ldir/s')), m.path('s'));
  t.deepEqual(fx.where('ldir/s'), ['b']);
  t.is(read(m.path('ldir/s')), 'data');
});

test.serial('link where the target directory exists on the source’s branch works under a path-preserving policy', async (t) => {
  const { fx, m } = await setup(t, ['category.create=epff'], (fx) => {
    put(fx, 'a', 's', 'data');
    putDir(fx, 'a', 'ldir');
  });
  t.is(errnoOf(() => linkSync(m.path('s'), m.path('ldir/s'))), 'OK');
  t.deepEqual(fx.where('ldir/s'), ['a']);
  t.is(statSync(m.path('ldir/s')).nlink, 2);
});
