// Copy-on-write pools (-o cow): a change to a file that only an RO branch
// holds copies it to the branch the create policy picks; removing it leaves
// a whiteout; the RO branch is never written. Without cow the same changes
// fail with EROFS, as in mergerfs.
import test from 'ava';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync, appendFileSync, mkdirSync, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { makeBranches, mountBraidfs, FILL } from './fixture.js';

const code = (f: () => unknown): string => {
  try {
    f();
    return 'OK';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
};
const listing = (dir: string): string[] => readdirSync(dir).filter((n) => n !== FILL).sort();

function layout(t: Parameters<typeof makeBranches>[0]) {
  return makeBranches(
    t,
    [
      { name: 'a', size: 16 },
      { name: 'b', size: 32 },
      { name: 'ro', size: 16, mode: 'RO' },
    ],
    (fx) => {
      mkdirSync(fx.at('ro', 'media', 'show'), { recursive: true });
      writeFileSync(fx.at('ro', 'media', 'show', 'ep1.mkv'), 'episode one');
      writeFileSync(fx.at('ro', 'media', 'show', 'ep2.mkv'), 'episode two');
      writeFileSync(fx.at('ro', 'notes.txt'), 'old notes\n');
      utimesSync(fx.at('ro', 'notes.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    },
  );
}

test('without cow, an action on a file only an RO branch holds is EROFS (mergerfs)', async (t) => {
  const fx = layout(t);
  const m = await mountBraidfs(t, fx, ['minfreespace=1M']);
  t.is(code(() => chmodSync(m.path('notes.txt'), 0o600)), 'EROFS');
  t.is(code(() => unlinkSync(m.path('notes.txt'))), 'EROFS');
  t.is(lstatSync(fx.at('ro', 'notes.txt')).mode & 0o777, 0o644);
});

test('cow: a write copies the file up to the create policy branch (mfs: the emptiest) and leaves the RO branch alone', async (t) => {
  const fx = layout(t);
  const m = await mountBraidfs(t, fx, ['minfreespace=1M', 'cow', 'category.create=mfs']);
  const before = statSync(fx.at('ro', 'notes.txt'));
  appendFileSync(m.path('notes.txt'), 'new line\n');
  t.is(readFileSync(m.path('notes.txt'), 'utf8'), 'old notes\nnew line\n');
  t.deepEqual(fx.where('notes.txt'), ['b', 'ro'], 'copied to b (most free space), RO copy kept');
  t.is(readFileSync(fx.at('ro', 'notes.txt'), 'utf8'), 'old notes\n');
  t.is(statSync(fx.at('ro', 'notes.txt')).mtimeMs, before.mtimeMs);
  // The parent chain is cloned for a nested file.
  truncateSync(m.path('media', 'show', 'ep1.mkv'), 3);
  t.is(readFileSync(m.path('media', 'show', 'ep1.mkv'), 'utf8'), 'epi');
  t.deepEqual(fx.where('media/show/ep1.mkv'), ['b', 'ro']);
  t.is(readFileSync(fx.at('ro', 'media', 'show', 'ep1.mkv'), 'utf8'), 'episode one');
  // Untouched files stay where they are.
  t.deepEqual(fx.where('media/show/ep2.mkv'), ['ro']);
});

test('cow: chmod and xattr changes copy up with the data and mtime intact', async (t) => {
  const fx = layout(t);
  const m = await mountBraidfs(t, fx, ['minfreespace=1M', 'cow', 'category.create=ff']);
  chmodSync(m.path('notes.txt'), 0o600);
  t.deepEqual(fx.where('notes.txt'), ['a', 'ro']);
  const st = lstatSync(fx.at('a', 'notes.txt'));
  t.is(st.mode & 0o777, 0o600);
  t.is(st.mtime.toISOString(), '2001-02-03T04:05:06.000Z');
  t.is(readFileSync(fx.at('a', 'notes.txt'), 'utf8'), 'old notes\n');
  const r = spawnSync('setfattr', ['-n', 'user.tag', '-v', 'x', m.path('media', 'show', 'ep2.mkv')]);
  t.is(r.status, 0, r.stderr?.toString());
  t.deepEqual(fx.where('media/show/ep2.mkv'), ['a', 'ro']);
});

test('cow: deleting an RO file leaves a whiteout; the name is gone from the union and stays gone after a remount', async (t) => {
  const fx = layout(t);
  const opts = ['minfreespace=1M', 'cow'];
  const m = await mountBraidfs(t, fx, opts);
  unlinkSync(m.path('media', 'show', 'ep2.mkv'));
  t.is(code(() => statSync(m.path('media', 'show', 'ep2.mkv'))), 'ENOENT');
  t.deepEqual(listing(m.path('media', 'show')), ['ep1.mkv']);
  t.true(existsSync(fx.at('ro', 'media', 'show', 'ep2.mkv')), 'the RO copy is untouched');
  const wh = fx.where('media/show/ep2.mkv').filter((b) => b !== 'ro');
  t.is(wh.length, 1, 'one whiteout on a writable branch');
  t.true(lstatSync(fx.at(wh[0]!, 'media', 'show', 'ep2.mkv')).isCharacterDevice());
  // A file made again under that name replaces the whiteout.
  writeFileSync(m.path('media', 'show', 'ep2.mkv'), 'remade');
  t.is(readFileSync(m.path('media', 'show', 'ep2.mkv'), 'utf8'), 'remade');
  unlinkSync(m.path('media', 'show', 'ep2.mkv'));
  await m.unmount();
  const again = await mountBraidfs(t, fx, opts);
  t.deepEqual(listing(again.path('media', 'show')), ['ep1.mkv']);
  t.false(listing(again.path()).includes('.braidfs-work'), 'the scratch directory is hidden');
});

test('cow: rename of an RO file moves a copy and whites out the old name; rm -rf of an RO tree leaves only whiteouts', async (t) => {
  const fx = layout(t);
  const m = await mountBraidfs(t, fx, ['minfreespace=1M', 'cow']);
  renameSync(m.path('notes.txt'), m.path('renamed.txt'));
  t.is(readFileSync(m.path('renamed.txt'), 'utf8'), 'old notes\n');
  t.is(code(() => statSync(m.path('notes.txt'))), 'ENOENT');
  rmSync(m.path('media'), { recursive: true });
  t.deepEqual(listing(m.path()), ['renamed.txt']);
  t.true(existsSync(fx.at('ro', 'media', 'show', 'ep1.mkv')), 'RO branch untouched');
});
