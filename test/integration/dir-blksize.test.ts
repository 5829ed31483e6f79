// A directory's st_blksize is sized to its listing (src/ops/blksize.ts), so
// that glibc's readdir asks for batches big enough to list a directory of a
// few thousand names at once. Checked from separate processes: what stat
// shows (JS and addon agree, files keep the branch's), and what it buys:
// `ls -l`-style walks of a 3,000-file directory get every attribute from
// the listing instead of a LOOKUP per file, and `ls -f` of 20,000 names
// takes a handful of round trips.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { withMount } from '../helpers/mount.js';
import { requestCounts, sleep } from './util.js';

const py = (script: string, ...args: string[]): string => {
  const r = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python: ${r.stderr}`);
  return r.stdout.trim();
};
const blksizeOf = (path: string): number => Number(py('import os, sys\nprint(os.stat(sys.argv[1]).st_blksize)', path));

test('st_blksize: a small directory and files as on the branch side, a big directory more and a power of two; the addon shows the same', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=0.2', 'cache.attr=0.2'] });
  mkdirSync(m.src('small'));
  writeFileSync(m.src('small', 'f'), 'x');
  mkdirSync(m.src('big'));
  for (let i = 0; i < 3000; i++) writeFileSync(m.src('big', `file-with-a-longer-name-${i}`), '');
  // glibc reads at least 32 KiB whatever st_blksize says: a one-block directory is listed as before.
  t.is(blksizeOf(m.path('small')), 32 * 1024);
  t.is(blksizeOf(m.path('small', 'f')), statSync(m.src('small', 'f')).blksize, 'a file keeps its branch st_blksize');
  const big = blksizeOf(m.path('big'));
  t.true(big > 32 * 1024 && big <= 1024 * 1024 && (big & (big - 1)) === 0, `big directory: ${big}`);
  // Expired, looked up again: answered by the addon, with the same value.
  await sleep(300);
  t.is(blksizeOf(m.path('big')), big, 'the addon shows the same st_blksize');
  t.is(blksizeOf(m.path('small')), 32 * 1024);
});

test('what it buys: an ls -l-style walk of 3,000 files gets its attributes from the listing, and ls -f of 20,000 names takes a few round trips', async (t) => {
  const m = await withMount(t, { options: ['readdirplus=true', 'cache.entry=60', 'cache.attr=60', 'passthrough.io=off'] });
  mkdirSync(m.src('big'));
  for (let i = 0; i < 3000; i++) writeFileSync(m.src('big', `f${i}`), 'x'.repeat(i % 7));
  mkdirSync(m.src('huge'));
  for (let i = 0; i < 20000; i++) writeFileSync(m.src('huge', `name-${i}`), '');
  const before = await requestCounts(m);
  const walk = ['import os, sys', 'n = 0', 'for e in os.scandir(sys.argv[1]):', '    os.lstat(e.path); n += 1', 'print(n)'].join('\n');
  t.is(py(walk, m.path('big')), '3000');
  const afterWalk = await requestCounts(m);
  const lookups = (afterWalk.get('LOOKUP') ?? 0) - (before.get('LOOKUP') ?? 0);
  // With the branch's 4 KiB the first batch held ~200 names with attributes, and each of the other 2,800 cost a LOOKUP.
  t.true(lookups < 100, `LOOKUPs for an lstat of each of 3,000 listed files: ${lookups}`);
  const batches = (c: Map<string, number>): number => (c.get('READDIR') ?? 0) + (c.get('READDIRPLUS') ?? 0);
  t.is(py('import os, sys\nprint(len(os.listdir(sys.argv[1])))', m.path('huge')), '20000');
  const listed = batches(await requestCounts(m)) - batches(afterWalk);
  // 32 KiB batches took about 25 for these names.
  t.true(listed <= 8, `READDIR/READDIRPLUS round trips to list 20,000 names: ${listed}`);
});
