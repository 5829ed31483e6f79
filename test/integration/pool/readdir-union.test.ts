// readdir merges every branch in list order and lists a name once; the first
// branch holding a name wins (its type, its inode), and stat of the name
// (func.getattr=ff) shows the same copy (reference §3.4, §3.5). Listings
// through getdents (node), READDIRPLUS (`ls -l`) and find agree.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { run } from '../util.js';
import { errnoOf, FILL, makeBranches, mountBraidfs, put, putDir, type BranchDef, type Fixture } from './fixture.js';

const DEFS: readonly BranchDef[] = [
  { name: 'a', size: 32, minfree: '1M' },
  { name: 'b', size: 32, minfree: '1M' },
  { name: 'c', size: 8, minfree: '1M' },
];

function populateSmall(fx: Fixture): void {
  put(fx, 'a', 'common', '1');
  put(fx, 'b', 'common', '22');
  put(fx, 'c', 'common', '333');
  // x: a file on a (first), a directory on b.
  put(fx, 'a', 'x', 'x'.repeat(123));
  putDir(fx, 'b', 'x');
  put(fx, 'b', 'x/inner', 'i');
  // y: a directory on a (first), a file on b.
  putDir(fx, 'a', 'y');
  put(fx, 'b', 'y', 'y'.repeat(77));
  put(fx, 'b', 'onlyb', 'bb');
  putDir(fx, 'c', 'onlyc');
  // sub exists on a and b with different entries; c has sub/p as a directory.
  put(fx, 'a', 'sub/p', 'pp');
  put(fx, 'b', 'sub/q', 'qqq');
  putDir(fx, 'c', 'sub/p');
}

/** `ls -ln --time-style=+%s -a DIR` → name → "type size" (d_type-independent: ls stats every name). */
async function lsLong(dir: string): Promise<Map<string, string>> {
  const r = await run('ls', ['-lna', '--time-style=+%s', dir]);
  if (r.code !== 0) throw new Error(`ls failed: ${r.stderr}`);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    // -rw-r--r-- 1 0 0 123 1700000000 name
    const f = line.trim().split(/\s+/);
    if (f.length < 7 || f[0] === 'total') continue;
    const name = f.slice(6).join(' ');
    if (out.has(name)) throw new Error(`ls listed '${name}' twice`);
    out.set(name, `${f[0]![0] === '-' ? 'f' : f[0]![0]!} ${f[4]!}`);
  }
  return out;
}

/** `find DIR -mindepth 1 -maxdepth 1 -printf '%f %y %s\n'` → name → "type size". */
async function findList(dir: string): Promise<Map<string, string>> {
  const r = await run('find', [dir, '-mindepth', '1', '-maxdepth', '1', '-printf', '%f %y %s\\n']);
  if (r.code !== 0) throw new Error(`find failed: ${r.stderr}`);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [name, type, size] = line.split(' ');
    if (out.has(name!)) throw new Error(`find listed '${name!}' twice`);
    out.set(name!, `${type!} ${size!}`);
  }
  return out;
}

/** getdents through node: name → d_type as 'f' | 'd' | 'l' | '?'. Duplicates are an error. */
function direntTypes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (out.has(e.name)) throw new Error(`readdir listed '${e.name}' twice`);
    out.set(e.name, e.isFile() ? 'f' : e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : '?');
  }
  return out;
}

const PY_INODES = [
  'import os, sys',
  'for e in sorted(os.scandir(sys.argv[1]), key=lambda e: e.name):',
  "    print(e.name, e.inode(), os.lstat(e.path).st_ino, 'same' if e.inode() == os.lstat(e.path).st_ino else 'DIFFERENT')",
].join('\n');

/**
 * The names of DIR read with raw getdents64 calls of 4 KiB: the kernel then
 * asks for 4 KiB batches (glibc would ask for the directory's st_blksize,
 * which for a big directory holds it all), so this walks the cookies from
 * batch to batch.
 */
const PY_SMALL_GETDENTS = [
  'import ctypes, os, platform, sys',
  "nr = {'x86_64': 217, 'aarch64': 61}[platform.machine()]",
  'libc = ctypes.CDLL(None, use_errno=True)',
  'fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)',
  'buf = ctypes.create_string_buffer(4096)',
  'batches = 0',
  'while True:',
  '    n = libc.syscall(nr, fd, buf, 4096)',
  '    if n < 0: sys.exit(ctypes.get_errno())',
  '    if n == 0: break',
  '    batches += 1',
  '    raw, off = buf.raw, 0',
  '    while off < n:',
  "        reclen = int.from_bytes(raw[off + 16:off + 18], 'little')",
  "        name = raw[off + 19:off + reclen].split(b'\\0', 1)[0]",
  "        if name not in (b'.', b'..'): print(name.decode())",
  '        off += reclen',
  "print(batches, file=sys.stderr)",
].join('\n');

const sorted = (m: Map<string, string>): Array<[string, string]> => [...m].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));

async function setupSmall(t: ExecutionContext): Promise<{ fx: Fixture; m: { path(...p: string[]): string } }> {
  const fx = makeBranches(t, DEFS, populateSmall);
  const m = await mountBraidfs(t, fx, ['cache.attr=0', 'cache.entry=0']);
  return { fx, m };
}

test.serial('a name on several branches is listed once; the first branch wins its type and size', async (t) => {
  const { m } = await setupSmall(t);
  const want = new Map([
    ['common', 'f 1'],
    ['x', 'f 123'],
    ['y', 'd'],
    ['onlyb', 'f 2'],
    ['onlyc', 'd'],
    ['sub', 'd'],
  ]);
  const types = direntTypes(m.path());
  t.deepEqual(sorted(types), sorted(new Map([...want].map(([k, v]) => [k, v[0]!]))), 'getdents: each name once, d_type of the first branch');
  const ls = await lsLong(m.path());
  t.false(ls.has(FILL));
  for (const [name, v] of want) {
    const got = ls.get(name);
    if (v.startsWith('d')) t.is(got?.[0], 'd', `ls -l ${name}`);
    else t.is(got, v, `ls -l ${name}`);
  }
  t.deepEqual(
    [...ls.keys()].filter((n) => n !== '.' && n !== '..').sort(),
    [...want.keys()].sort(),
    'ls -la lists each name once (plus . and ..)',
  );
});

test.serial('x is a file through the mount (the directory on b is shadowed); y is a directory', async (t) => {
  const { m } = await setupSmall(t);
  const r = await run('ls', [m.path('x')]);
  t.is(r.code, 0);
  t.is(r.stdout.trim(), m.path('x'), 'ls of a file prints its name');
  t.is(errnoOf(() => readdirSync(m.path('x'))), 'ENOTDIR', 'x cannot be listed');
  t.deepEqual(readdirSync(m.path('y')), [], 'y is a’s empty directory');
  const sub = await lsLong(m.path('sub'));
  t.is(sub.get('p'), 'f 2', 'sub/p: a’s file wins over c’s directory');
  t.is(sub.get('q'), 'f 3', 'sub/q from b');
  t.deepEqual([...sub.keys()].filter((n) => n !== '.' && n !== '..').sort(), ['p', 'q']);
});

test.serial('readdir d_ino equals stat st_ino for every merged name (both from the winning copy)', async (t) => {
  const { m } = await setupSmall(t);
  for (const dir of [m.path(), m.path('sub')]) {
    const r = await run('python3', ['-c', PY_INODES, dir]);
    t.is(r.code, 0, r.stderr);
    const bad = r.stdout.split('\n').filter((l) => l.includes('DIFFERENT'));
    t.deepEqual(bad, [], `d_ino vs st_ino in ${dir}:\n${r.stdout}`);
  }
});

// --- 3000 names split over two branches ---------------------------------------------

const N = 3000;
const name = (i: number): string => `n${String(i).padStart(4, '0')}`;

function populateBig(fx: Fixture): void {
  putDir(fx, 'a', 'big');
  putDir(fx, 'b', 'big');
  for (let i = 0; i < N; i++) {
    // Even names on a, odd on b; every tenth also on b with another size (a wins).
    if (i % 2 === 0) put(fx, 'a', `big/${name(i)}`, 'a'.repeat(i % 5));
    if (i % 2 === 1 || i % 10 === 0) put(fx, 'b', `big/${name(i)}`, 'b'.repeat((i % 5) + 10));
  }
  // A few directories among them, one of them on both branches.
  putDir(fx, 'a', 'big/zdir0');
  putDir(fx, 'b', 'big/zdir0');
  putDir(fx, 'b', 'big/zdir1');
}

function expectedBig(): Map<string, string> {
  const want = new Map<string, string>();
  for (let i = 0; i < N; i++) want.set(name(i), `f ${i % 2 === 0 ? i % 5 : (i % 5) + 10}`);
  want.set('zdir0', 'd');
  want.set('zdir1', 'd');
  return want;
}

test.serial(`a ${N + 2}-entry directory split over two branches: every name once, via getdents, ls -l and find`, async (t) => {
  const fx = makeBranches(t, DEFS, populateBig);
  const m = await mountBraidfs(t, fx, []);
  const want = expectedBig();
  const dir = m.path('big');

  const types = direntTypes(dir);
  t.is(types.size, want.size, 'getdents: number of names');
  t.deepEqual(sorted(types), sorted(new Map([...want].map(([k, v]) => [k, v[0]!]))), 'getdents: names and d_types');

  const ls = await lsLong(dir);
  ls.delete('.');
  ls.delete('..');
  t.is(ls.size, want.size, 'ls -l: number of names');
  const lsNoDirSize = new Map([...ls].map(([k, v]): [string, string] => [k, v.startsWith('d') ? 'd' : v]));
  t.deepEqual(sorted(lsNoDirSize), sorted(want), 'ls -l (READDIRPLUS): names, types, sizes of the first branch');

  const found = await findList(dir);
  const findNoDirSize = new Map([...found].map(([k, v]): [string, string] => [k, v.startsWith('d') ? 'd' : v]));
  t.deepEqual(sorted(findNoDirSize), sorted(want), 'find: names, types, sizes');
  t.deepEqual(sorted(findNoDirSize), sorted(lsNoDirSize), 'find and ls -l agree');

  // Listing twice gives the same answer (offsets are stable, nothing is lost or repeated).
  t.deepEqual(readdirSync(dir).sort(), [...want.keys()].sort());

  // In many small batches: each resumes at the cookie the last one ended on.
  const small = spawnSync('python3', ['-c', PY_SMALL_GETDENTS, dir], { encoding: 'utf8' });
  t.is(small.status, 0, small.stderr);
  t.true(Number(small.stderr.trim()) > 10, `getdents64 calls of 4 KiB: ${small.stderr.trim()}`);
  const names = small.stdout.split('\n').filter(Boolean);
  t.is(new Set(names).size, names.length, '4 KiB batches: each name once');
  t.deepEqual(names.sort(), [...want.keys()].sort(), '4 KiB batches: every name');
});
