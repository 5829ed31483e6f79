// The caching options (mergerfs's meanings): each must make a difference
// (shown by a change made behind the mount's back, which caching hides),
// and none may serve stale data after a change made through the mount.
import test from 'ava';
import { appendFileSync, chmodSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, renameSync, statSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { withMount } from '../helpers/mount.js';
import { requestCounts, waitFor } from './util.js';

/** Puts back a file's exact mtime (ns) after a change behind the mount, so nothing but content changed. */
function restoreMtime(path: string, mtimeNs: bigint): void {
  const sec = mtimeNs / 1_000_000_000n;
  const nsec = (mtimeNs % 1_000_000_000n).toString().padStart(9, '0');
  const r = spawnSync('touch', ['-m', '-d', `@${sec}.${nsec}`, path]);
  if (r.status !== 0) throw new Error(`touch failed: ${r.stderr.toString()}`);
}

const noPassthrough = 'passthrough.io=off';

test('cache.files=off (default without passthrough): a change behind the mount is seen at once, even through an open fd', async (t) => {
  const m = await withMount(t, { options: [noPassthrough] });
  writeFileSync(m.src('f'), 'one');
  const fd = openSync(m.path('f'), 'r');
  const buf = Buffer.alloc(3);
  readSync(fd, buf, 0, 3, 0);
  t.is(buf.toString(), 'one');
  writeFileSync(m.src('f'), 'two');
  readSync(fd, buf, 0, 3, 0);
  closeSync(fd);
  t.is(buf.toString(), 'two', 'direct I/O: no page cache to go stale');
});

test('cache.files=full keeps pages across opens (a change behind the mount stays hidden), yet writes through the mount are seen', async (t) => {
  const m = await withMount(t, { options: [noPassthrough, 'cache.files=full', 'cache.attr=60'] });
  writeFileSync(m.src('f'), 'one');
  t.is(readFileSync(m.path('f'), 'utf8'), 'one');
  // Same size and mtime, behind the mount's back: only the page cache can tell.
  const before = statSync(m.src('f'), { bigint: true }).mtimeNs;
  writeFileSync(m.src('f'), 'two');
  restoreMtime(m.src('f'), before);
  t.is(readFileSync(m.path('f'), 'utf8'), 'one', 'the kernel kept the cached pages (KEEP_CACHE)');
  writeFileSync(m.path('f'), 'three');
  t.is(readFileSync(m.path('f'), 'utf8'), 'three', 'a write through the mount is never served stale');
  appendFileSync(m.path('f'), '+');
  t.is(readFileSync(m.path('f'), 'utf8'), 'three+');
});

test('cache.files=auto-full keeps pages only while mtime and size are unchanged', async (t) => {
  const m = await withMount(t, { options: [noPassthrough, 'cache.files=auto-full', 'cache.attr=0'] });
  writeFileSync(m.src('f'), 'one');
  t.is(readFileSync(m.path('f'), 'utf8'), 'one');
  t.is(readFileSync(m.path('f'), 'utf8'), 'one');
  const before = statSync(m.src('f'), { bigint: true }).mtimeNs;
  writeFileSync(m.src('f'), 'two');
  restoreMtime(m.src('f'), before);
  t.is(readFileSync(m.path('f'), 'utf8'), 'one', 'mtime and size as before: pages kept');
  writeFileSync(m.src('f'), 'changed behind');
  t.is(readFileSync(m.path('f'), 'utf8'), 'changed behind', 'size and mtime changed: cache dropped at open');
});

test('cache.files=partial: the cache is dropped at each open', async (t) => {
  const m = await withMount(t, { options: [noPassthrough, 'cache.files=partial'] });
  writeFileSync(m.src('f'), 'one');
  t.is(readFileSync(m.path('f'), 'utf8'), 'one');
  writeFileSync(m.src('f'), 'two');
  t.is(readFileSync(m.path('f'), 'utf8'), 'two');
});

test('cache.writeback: appends and partial writes land right; passthrough is off with one line saying why', async (t) => {
  const m = await withMount(t, { options: ['cache.writeback=true', 'cache.files=partial'] });
  writeFileSync(m.path('f'), 'hello');
  appendFileSync(m.path('f'), ' world');
  const fd = openSync(m.path('f'), 'r+');
  writeSync(fd, 'J', 0);
  closeSync(fd);
  const wfd = openSync(m.path('f'), 'a');
  writeSync(wfd, '!');
  closeSync(wfd);
  t.is(readFileSync(m.path('f'), 'utf8'), 'Jello world!');
  t.is(readFileSync(m.src('f'), 'utf8'), 'Jello world!', 'on disk after close');
  // The line is written at INIT; stderr may reach us a little later.
  await waitFor(() => /passthrough off: cache\.writeback/.test(m.log()), 10_000);
  t.regex(m.log(), /passthrough off: cache\.writeback/);
});

test('cache.readdir: listings are cached, yet a file made or removed through the mount shows at once', async (t) => {
  const m = await withMount(t, { options: ['cache.readdir=true', 'cache.entry=60', 'cache.attr=60'] });
  mkdirSync(m.path('d'));
  writeFileSync(m.path('d', 'a'), '');
  t.deepEqual(readdirSync(m.path('d')), ['a']);
  writeFileSync(m.path('d', 'b'), '');
  t.deepEqual(readdirSync(m.path('d')).sort(), ['a', 'b']);
  unlinkSync(m.path('d', 'a'));
  t.deepEqual(readdirSync(m.path('d')), ['b']);
  const before = statSync(m.src('d'), { bigint: true }).mtimeNs;
  writeFileSync(m.src('d', 'behind'), '');
  restoreMtime(m.src('d'), before);
  t.deepEqual(readdirSync(m.path('d')), ['b'], 'a cached listing does not see a change behind the mount (same mtime)');
});

test('a directory is listed at its first read: opened only as a dirfd it costs no listing; with cache.readdir a listing the kernel kept costs none either', async (t) => {
  for (const cacheReaddir of [false, true]) {
    const m = await withMount(t, { options: [`cache.readdir=${cacheReaddir}`, 'cache.entry=60', 'cache.attr=60'] });
    mkdirSync(m.src('d'));
    for (let i = 0; i < 50; i++) writeFileSync(m.src('d', `f${i}`), '');
    const list = ['import os, sys', 'print(len(os.listdir(sys.argv[1])))'].join('\n');
    // Opened, used as a dirfd and closed, never read (as fts, tar and openat users do).
    const dirfd = ['import os, sys', 'for _ in range(20):', '    fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)', '    os.stat("f1", dir_fd=fd)', '    os.close(fd)'].join('\n');
    const before = (await listingStats(m)).read;
    t.is(spawnSync('python3', ['-c', dirfd, m.path('d')]).status, 0);
    t.is((await listingStats(m)).read, before, `cache.readdir=${cacheReaddir}: 20 opens without a read list nothing`);
    t.is(spawnSync('python3', ['-c', list, m.path('d')], { encoding: 'utf8' }).stdout.trim(), '50');
    t.is((await listingStats(m)).read, before + 1, `cache.readdir=${cacheReaddir}: one read, one listing`);
    t.is(spawnSync('python3', ['-c', list, m.path('d')], { encoding: 'utf8' }).stdout.trim(), '50');
    t.is((await listingStats(m)).read, before + (cacheReaddir ? 1 : 2), `cache.readdir=${cacheReaddir}: a second read lists again only without the kernel's cache`);
  }
});

test('cache.symlinks: targets are cached, yet a symlink replaced through the mount reads its new target', async (t) => {
  const m = await withMount(t, { options: ['cache.symlinks=true', 'cache.entry=60', 'cache.attr=60'] });
  symlinkSync('first', m.path('l'));
  t.is(readlinkSync(m.path('l')), 'first');
  symlinkSync('second', m.path('l2'));
  renameSync(m.path('l2'), m.path('l'));
  t.is(readlinkSync(m.path('l')), 'second');
});

test('cache.attr and cache.negative_entry: long timeouts never hide changes made through the mount', async (t) => {
  const m = await withMount(t, { options: ['cache.attr=60', 'cache.entry=60', 'cache.negative_entry=60'] });
  t.throws(() => statSync(m.path('later')), { code: 'ENOENT' });
  writeFileSync(m.path('later'), 'x');
  t.is(statSync(m.path('later')).size, 1, 'a cached negative entry is replaced by the create');
  chmodSync(m.path('later'), 0o600);
  t.is(statSync(m.path('later')).mode & 0o777, 0o600);
  appendFileSync(m.path('later'), 'yz');
  t.is(statSync(m.path('later')).size, 3);
  unlinkSync(m.path('later'));
  t.throws(() => statSync(m.path('later')), { code: 'ENOENT' });
});

/** stat(1)'s %W: the birth time in seconds, 0 when the file system does not give it. */
function birth(path: string): string {
  const r = spawnSync('stat', ['-c', '%W', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stat ${path}: ${r.stderr}`);
  return r.stdout.trim();
}

test('statx=false (default): statx is answered from the attribute cache, without a birth time, and follows changes made through the mount', async (t) => {
  const m = await withMount(t, { options: ['cache.attr=60', 'cache.entry=60'] });
  writeFileSync(m.path('f'), 'x');
  t.not(birth(m.src('f')), '0', 'the branch itself records birth times');
  t.is(birth(m.path('f')), '0', 'no btime through the mount');
  appendFileSync(m.path('f'), 'yz');
  t.is(statSync(m.path('f')).size, 3, 'statx (node asks for btime) sees the append');
  chmodSync(m.path('f'), 0o640);
  t.is(statSync(m.path('f')).mode & 0o777, 0o640);
});

test('statx=true: statx gives the branch file\'s birth time, and follows changes made through the mount', async (t) => {
  const m = await withMount(t, { options: ['statx=true', 'cache.attr=60', 'cache.entry=60'] });
  writeFileSync(m.path('f'), 'x');
  t.not(birth(m.path('f')), '0');
  t.is(birth(m.path('f')), birth(m.src('f')));
  appendFileSync(m.path('f'), 'yz');
  t.is(statSync(m.path('f')).size, 3);
});


test('locks=kernel (default): close sends no FLUSH, and locks still exclude other processes', async (t) => {
  const m = await withMount(t, { options: [noPassthrough] });
  for (let i = 0; i < 5; i++) closeSync(openSync(m.path(`f${i}`), 'w'));
  t.true(((await requestCounts(m)).get('FLUSH') ?? 0) <= 1, 'FLUSH answered ENOSYS once, then never sent');
  const r = spawnSync('flock', ['-x', m.path('f0'), 'flock', '-n', '-E', '42', '-x', m.path('f0'), 'true']);
  t.is(r.status, 42, 'a second flock on a locked file fails');
});

test('locks=daemon: the kernel sends lock requests and a FLUSH on each close', async (t) => {
  const m = await withMount(t, { options: [noPassthrough, 'locks=daemon'] });
  for (let i = 0; i < 5; i++) closeSync(openSync(m.path(`f${i}`), 'w'));
  t.true((await requestCounts(m)).get('FLUSH')! >= 5);
  const r = spawnSync('flock', ['-x', m.path('f0'), 'flock', '-n', '-E', '42', '-x', m.path('f0'), 'true']);
  t.is(r.status, 42);
});

test('readdirplus=true: ls -l is served by READDIRPLUS, without a LOOKUP per file', async (t) => {
  const m = await withMount(t, { options: [noPassthrough, 'cache.entry=60', 'cache.attr=60', 'readdirplus=true'] });
  for (let i = 0; i < 20; i++) writeFileSync(m.src(`f${i}`), 'x');
  const ls = spawnSync('ls', ['-l', m.path()], { encoding: 'utf8' });
  t.is(ls.stdout.split('\n').filter((l) => / f\d+$/.test(l)).length, 20);
  const n = await requestCounts(m);
  t.true((n.get('READDIRPLUS') ?? 0) >= 1);
  t.true((n.get('LOOKUP') ?? 0) < 20, `LOOKUPs: ${n.get('LOOKUP')}`);
});

/** The daemon's node count, the merged listings it read, and its listings sent with attributes and names-only, from its SIGUSR2 stats line. */
async function listingStats(m: { pid: number; log(): string }): Promise<{ nodes: number; read: number; attrs: number; names: number }> {
  const before = m.log().length;
  process.kill(m.pid, 'SIGUSR2');
  const whole = /stats: nodes=(\d+) [^\n]* listings=(\d+)-read\/(\d+)\+attrs\/(\d+)-names\/(\d+)~sampled\n/;
  await waitFor(() => whole.test(m.log().slice(before)), 5000);
  const x = whole.exec(m.log().slice(before));
  if (!x) throw new Error(`no stats line:\n${m.log()}`);
  return { nodes: Number(x[1]), read: Number(x[2]), attrs: Number(x[3]) + Number(x[5]), names: Number(x[4]) };
}

test('readdirplus=auto (default): a walk that needs only names gets names only; one that stats what it lists gets attributes from its second directory on, and they are right', async (t) => {
  const m = await withMount(t, { options: [noPassthrough, 'cache.entry=60', 'cache.attr=60'] });
  const DIRS = 20;
  const FILES = 40;
  for (let d = 0; d < 4 * DIRS; d++) {
    mkdirSync(m.src(`d${d}`));
    for (let i = 0; i < FILES; i++) {
      writeFileSync(m.src(`d${d}`, `f${i}`), 'x'.repeat(i));
      chmodSync(m.src(`d${d}`, `f${i}`), i % 2 ? 0o640 : 0o755);
    }
  }
  // find-like, from another process: names and d_type only (scandir's is_dir needs no stat).
  const walk = ['import os, sys', 'for d in sys.argv[2:]:', '    [e.is_dir() for e in os.scandir(os.path.join(sys.argv[1], d))]'].join('\n');
  const dirs = (from: number): string[] => Array.from({ length: DIRS }, (_, k) => `d${from + k}`);
  t.is(spawnSync('python3', ['-c', walk, m.path(), ...dirs(0)]).status, 0);
  const afterFind = await listingStats(m);
  t.is(afterFind.attrs, 0, 'no listing carried attributes');
  t.true(afterFind.names >= DIRS, `listings names-only: ${afterFind.names}`);
  // Attributes would have given the kernel a node per file (DIRS * FILES).
  t.true(afterFind.nodes < DIRS + 10, `nodes after a names-only walk of ${DIRS * FILES} files: ${afterFind.nodes}`);

  // du-like: each directory listed, then every name lstat'ed.
  const lookupsBefore = (await requestCounts(m)).get('LOOKUP') ?? 0;
  const statWalk = [
    'import os, sys, json',
    'out = {}',
    'for d in sys.argv[2:]:',
    '    for e in os.scandir(os.path.join(sys.argv[1], d)):',
    '        s = os.lstat(e.path)',
    '        out[d + "/" + e.name] = [s.st_mode, s.st_size, s.st_mtime_ns, s.st_nlink]',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', statWalk, m.path(), ...dirs(DIRS)], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout) as Record<string, number[]>;
  t.is(Object.keys(seen).length, DIRS * FILES);
  for (const [rel, got] of Object.entries(seen)) {
    const want = statSync(m.src(rel));
    t.deepEqual(got, [want.mode, want.size, Number(statSync(m.src(rel), { bigint: true }).mtimeNs), want.nlink], rel);
  }
  const lookups = ((await requestCounts(m)).get('LOOKUP') ?? 0) - lookupsBefore;
  const afterDu = await listingStats(m);
  t.true(afterDu.attrs >= DIRS - 3, `listings with attributes during the stat walk: ${afterDu.attrs} of ${DIRS}`);
  // One LOOKUP per directory, plus one per file of the names-only sample(s) that switched attributes on.
  t.true(lookups <= DIRS + 3 * FILES, `LOOKUPs during a stat walk of ${DIRS * FILES} files: ${lookups}`);

  // A names walk again: attributes until a sample (one listing in 32, an
  // eighth of its names without attributes) shows they go unused.
  t.is(spawnSync('python3', ['-c', walk, m.path(), ...dirs(2 * DIRS), ...dirs(3 * DIRS)]).status, 0);
  const afterSecondFind = await listingStats(m);
  const names = afterSecondFind.names - afterDu.names;
  t.true(names >= 2 * DIRS - 33, `names-only listings in a names walk of ${2 * DIRS} directories after the stat walk: ${names}`);
});

test('readdirplus=auto, names only: directories still get their attributes, so a walk descends without a LOOKUP per directory, and files get no node', async (t) => {
  const m = await withMount(t, { options: [noPassthrough, 'cache.entry=60', 'cache.attr=60'] });
  // 300 subdirectories: a listing too big for one small names-only batch.
  const SUBDIRS = 300;
  mkdirSync(m.src('top'));
  for (let d = 0; d < SUBDIRS; d++) {
    mkdirSync(m.src('top', `sub-directory-${d}`));
    for (let i = 0; i < 2; i++) writeFileSync(m.src('top', `sub-directory-${d}`, `f${i}`), 'x');
  }
  const walk = ['import os, sys', 'out = []', 'for root, dirs, files in os.walk(sys.argv[1]):', '    out += [os.path.relpath(os.path.join(root, n), sys.argv[1]) for n in dirs + files]', 'print("\\n".join(sorted(out)))'].join('\n');
  const lookupsBefore = (await requestCounts(m)).get('LOOKUP') ?? 0;
  const through = spawnSync('python3', ['-c', walk, m.path('top')], { encoding: 'utf8' });
  t.is(through.status, 0, through.stderr);
  const lookups = ((await requestCounts(m)).get('LOOKUP') ?? 0) - lookupsBefore;
  t.is(through.stdout, spawnSync('python3', ['-c', walk, m.src('top')], { encoding: 'utf8' }).stdout, 'the walk sees what the branch holds');
  t.true(lookups < 10, `LOOKUPs during a walk into ${SUBDIRS} directories: ${lookups}`);
  const stats = await listingStats(m);
  t.is(stats.attrs, 0, 'every listing names-only');
  t.true(stats.nodes < SUBDIRS + 10, `nodes after the walk (the directories, not their ${2 * SUBDIRS} files): ${stats.nodes}`);
});

test('readdirplus=false: listings carry names only (READDIR), and ls -l still shows every file right', async (t) => {
  const m = await withMount(t, { options: [noPassthrough, 'readdirplus=false'] });
  for (let i = 0; i < 20; i++) writeFileSync(m.src(`f${i}`), 'x'.repeat(i));
  const ls = spawnSync('ls', ['-l', m.path()], { encoding: 'utf8' });
  const sizes = ls.stdout.split('\n').filter((l) => / f\d+$/.test(l)).map((l) => Number(l.split(/\s+/)[4]));
  t.deepEqual(sizes.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  const n = await requestCounts(m);
  t.is(n.get('READDIRPLUS') ?? 0, 0);
  t.true((n.get('READDIR') ?? 0) >= 1);
});

test('cache.files=per-process: listed processes get the page cache, every other one direct I/O', async (t) => {
  const script = (path: string, src: string, restore: string): string =>
    [
      'import os, subprocess, sys',
      `fd = os.open(${JSON.stringify(path)}, os.O_RDONLY)`,
      'os.pread(fd, 3, 0)',
      `st = os.stat(${JSON.stringify(src)})`,
      `open(${JSON.stringify(src)}, "w").write("two")`,
      `os.utime(${JSON.stringify(src)}, ns=(st.st_atime_ns, st.st_mtime_ns))`,
      'sys.stdout.write(os.pread(fd, 3, 0).decode())',
      restore,
    ].join('\n');
  for (const [names, expected] of [
    ['python3', 'one'],
    ['cat', 'two'],
  ] as const) {
    const m = await withMount(t, { options: [noPassthrough, 'cache.files=per-process', `cache.files.process-names=${names}`] });
    writeFileSync(m.src('f'), 'one');
    const r = spawnSync('python3', ['-c', script(m.path('f'), m.src('f'), '')], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout, expected, `process-names=${names}: python3 ${expected === 'one' ? 'reads cached pages' : 'reads through'}`);
    await m.unmount();
  }
});

/** 64 writes of 4 KiB through one fd, as a separate process (dd). */
function writes64(path: string): void {
  const r = spawnSync('dd', ['if=/dev/zero', `of=${path}`, 'bs=4k', 'count=64', 'status=none']);
  if (r.status !== 0) throw new Error(`dd: ${r.stderr.toString()}`);
}

for (const pt of [true, false]) {
  const label = pt ? 'passthrough' : 'no passthrough';
  test(`handle-killpriv-v2 (default), ${label}: writes make no GETXATTR security.capability round trip`, async (t) => {
    const m = await withMount(t, { options: pt ? [] : [noPassthrough, 'cache.files=partial'] });
    writes64(m.path('f'));
    t.true(((await requestCounts(m)).get('GETXATTR') ?? 0) <= 1);
    t.is(statSync(m.src('f')).size, 64 * 4096);
  });

  test(`handle-killpriv-v2=false, ${label}: the kernel asks for security.capability before every write`, async (t) => {
    const m = await withMount(t, { options: pt ? ['handle-killpriv-v2=false'] : [noPassthrough, 'cache.files=partial', 'handle-killpriv-v2=false'] });
    writes64(m.path('f'));
    t.true(((await requestCounts(m)).get('GETXATTR') ?? 0) >= 64);
  });
}
