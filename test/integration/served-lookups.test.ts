// LOOKUPs of names the kernel has seen before are answered by the addon
// (fuse/served-lookups.ts, addon.c "Names served here") while the getattr
// search finds the same file again. These tests check that such answers are
// really given, that the node table still counts them (the kernel's FORGET
// lets every node go, and nothing goes early), and that a name that changed
// in any way (renamed, replaced behind the mount's back, shadowed by a file
// on an earlier branch, turned into a directory) is answered by JS, as a
// plain search would answer it. Every stat revalidates its name
// (cache.entry=0) and then shows the attributes the LOOKUP reply carried
// (cache.attr=60: no GETATTR after it).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, withMount, type Mounted } from '../helpers/mount.js';
import { waitFor } from './util.js';

function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

const fresh = ['cache.entry=0', 'cache.attr=60', 'passthrough.io=off'];

/** The SIGUSR2 stats: node count and what the addon answered. */
async function stats(m: Mounted): Promise<{ nodes: number; addon: Map<string, number> }> {
  const before = m.log().length;
  process.kill(m.pid, 'SIGUSR2');
  const whole = /stats: nodes=(\d+)[\s\S]*?answered in the addon:([^\n]*)\n/;
  if (!(await waitFor(() => whole.test(m.log().slice(before)), 20_000))) throw new Error(`no stats line; log:\n${m.log()}`);
  const [, nodes, addon] = whole.exec(m.log().slice(before))!;
  return { nodes: Number(nodes), addon: new Map([...addon!.matchAll(/([A-Z]+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])])) };
}

// That the kernel's FORGET still lets every node go once the addon has
// answered lookups is checked in forget.test.ts (drop_caches is global, so
// one test file owns it).
test('names seen before are answered in the addon, with the attributes the file has now', async (t) => {
  const m = await withMount(t, { options: fresh });
  mkdirSync(m.src('d'));
  for (let i = 0; i < 500; i++) writeFileSync(m.src('d', `f${i}`), 'x'.repeat(i));
  for (let pass = 0; pass < 3; pass++) for (let i = 0; i < 500; i++) t.is(statSync(m.path('d', `f${i}`)).size, i);
  // A change made behind the mount to the same file (same inode) shows at the next lookup.
  writeFileSync(m.src('d', 'f7'), 'longer than before', { flag: 'r+' });
  t.is(statSync(m.path('d', 'f7')).size, 18);
  const held = await stats(m);
  t.true((held.addon.get('LOOKUP') ?? 0) >= 900, `LOOKUPs answered in the addon: ${held.addon.get('LOOKUP')}`);
  t.true(held.nodes >= 500);
});

test('a renamed directory: its children answer under the new name, not the old one', async (t) => {
  const m = await withMount(t, { options: fresh });
  mkdirSync(m.path('a'));
  writeFileSync(m.path('a', 'f'), 'abc');
  for (let i = 0; i < 3; i++) t.is(statSync(m.path('a', 'f')).size, 3);
  renameSync(m.path('a'), m.path('b'));
  t.is(statSync(m.path('b', 'f')).size, 3);
  t.throws(() => statSync(m.path('a', 'f')), { code: 'ENOENT' });
  // And a new directory under the old name is a different one.
  mkdirSync(m.path('a'));
  writeFileSync(m.path('a', 'f'), 'abcdef');
  t.is(statSync(m.path('a', 'f')).size, 6);
  t.is(statSync(m.path('b', 'f')).size, 3);
  t.not(statSync(m.path('a', 'f')).ino, statSync(m.path('b', 'f')).ino);
});

test('a file replaced behind the mount, or turned into a directory, is seen as it is now', async (t) => {
  const m = await withMount(t, { options: fresh });
  writeFileSync(m.src('f'), 'one');
  writeFileSync(m.src('g'), 'two');
  for (let i = 0; i < 3; i++) {
    t.is(statSync(m.path('f')).size, 3);
    t.true(statSync(m.path('g')).isFile());
  }
  const oldIno = statSync(m.path('f')).ino;
  // A new file (a new inode) under the same name, as an editor's save does.
  writeFileSync(m.src('f.new'), 'replaced!');
  renameSync(m.src('f.new'), m.src('f'));
  t.is(statSync(m.path('f')).size, 9);
  t.not(statSync(m.path('f')).ino, oldIno);
  rmSync(m.src('g'));
  mkdirSync(m.src('g'));
  t.true(statSync(m.path('g')).isDirectory());
  rmSync(m.src('g'), { recursive: true });
  t.throws(() => statSync(m.path('g')), { code: 'ENOENT' });
});

test('a pool: a file that appears on an earlier branch behind the mount is the one found (ff)', async (t) => {
  const b1 = makeTempDir('braidfs-lk-b1-');
  const b2 = makeTempDir('braidfs-lk-b2-');
  t.teardown(() => {
    rmSync(b1, { recursive: true, force: true });
    rmSync(b2, { recursive: true, force: true });
  });
  mkdirSync(join(b2, 'd'));
  writeFileSync(join(b2, 'd', 'f'), 'on b2');
  const m = await withMount(t, { options: fresh, source: `${b1}:${b2}` });
  for (let i = 0; i < 3; i++) t.is(statSync(m.path('d', 'f')).size, 5);
  mkdirSync(join(b1, 'd'));
  writeFileSync(join(b1, 'd', 'f'), 'now on b1');
  t.is(statSync(m.path('d', 'f')).size, 9, 'the first branch that has the path wins');
  rmSync(join(b1, 'd'), { recursive: true });
  t.is(statSync(m.path('d', 'f')).size, 5, 'and b2 again once it is gone');
});

for (const [what, options] of [
  ['func.getattr=newest (a search the addon does not repeat)', ['func.getattr=newest']],
  ['reader=thread', ['reader=thread']],
] as const) {
  test(`${what}: JS answers every LOOKUP`, async (t) => {
    const m = await withMount(t, { options: [...fresh, ...options] });
    writeFileSync(m.src('f'), 'abc');
    for (let i = 0; i < 5; i++) t.is(statSync(m.path('f')).size, 3);
    t.false((await stats(m)).addon.has('LOOKUP'));
  });
}

// GETATTR: a node whose name is served is stat'ed by the addon with the same
// search (cache.attr=0: every stat asks; cache.entry=60: no LOOKUP first).
test('GETATTR of a served name is answered in the addon with the attributes the file has now; fstat goes through its open file', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=60', 'cache.attr=0', 'passthrough.io=off'] });
  mkdirSync(m.src('d'));
  writeFileSync(m.src('d', 'f'), 'abc');
  for (let i = 0; i < 200; i++) t.is(statSync(m.path('d', 'f')).size, 3);
  writeFileSync(m.src('d', 'f'), 'changed behind the mount', { flag: 'r+' });
  t.is(statSync(m.path('d', 'f')).size, 24);
  t.true(statSync(m.path('d')).isDirectory());
  const served = (await stats(m)).addon.get('GETATTR') ?? 0;
  t.true(served >= 190, `GETATTRs answered in the addon: ${served}`);
  // Replaced by a new file behind the mount: the node is not that file any more; JS answers (the kernel then looks it up again).
  rmSync(m.src('d', 'f'));
  writeFileSync(m.src('d', 'f'), 'new file');
  t.is(statSync(m.path('d', 'f')).size, 8);
  // fstat of an open file whose name is gone: through the handle, not the name.
  const fd = openSync(m.path('d', 'f'), 'r');
  try {
    unlinkSync(m.path('d', 'f'));
    t.is(fstatSync(fd).size, 8);
    t.is(fstatSync(fd).nlink, 0);
  } finally {
    closeSync(fd);
  }
});

// A LOOKUP of a name that is on no branch, below a directory whose name is
// served, is answered in the addon after the same search over every branch.
test('a name nowhere: ENOENT from the addon, as on a plain directory; it is found once it appears on any branch', async (t) => {
  const b1 = makeTempDir('braidfs-neg-b1-');
  const b2 = makeTempDir('braidfs-neg-b2-');
  const plain = makeTempDir('braidfs-neg-plain-');
  t.teardown(() => {
    for (const d of [b1, b2, plain]) rmSync(d, { recursive: true, force: true });
  });
  mkdirSync(join(b1, 'd'));
  mkdirSync(join(plain, 'd'));
  const m = await withMount(t, { options: fresh, source: `${b1}:${b2}` });
  t.true(statSync(m.path('d')).isDirectory());
  const before = (await stats(m)).addon.get('LOOKUP') ?? 0;
  for (let i = 0; i < 100; i++) {
    t.throws(() => statSync(m.path('d', `missing${i}`)), { code: 'ENOENT' });
    t.throws(() => statSync(join(plain, 'd', `missing${i}`)), { code: 'ENOENT' });
  }
  // Below a file, and too long a name: the errors a plain directory gives (JS answers those).
  writeFileSync(join(b1, 'd', 'file'), '');
  writeFileSync(join(plain, 'd', 'file'), '');
  t.is(errnoOf(() => statSync(m.path('d', 'file', 'x'))), errnoOf(() => statSync(join(plain, 'd', 'file', 'x'))));
  t.is(errnoOf(() => statSync(m.path('d', 'n'.repeat(300)))), errnoOf(() => statSync(join(plain, 'd', 'n'.repeat(300)))));
  const answered = ((await stats(m)).addon.get('LOOKUP') ?? 0) - before;
  t.true(answered >= 100, `LOOKUPs answered in the addon: ${answered}`);
  // It appears behind the mount on the second branch (the directory is not even there yet).
  mkdirSync(join(b2, 'd'));
  writeFileSync(join(b2, 'd', 'missing7'), 'here now');
  t.is(statSync(m.path('d', 'missing7')).size, 8);
});

test('cache.negative-entry: a name nowhere is a negative entry the kernel keeps; a file created through the mount is still seen at once', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=0', 'cache.attr=60', 'cache.negative-entry=60', 'passthrough.io=off'] });
  mkdirSync(m.src('d'));
  t.true(statSync(m.path('d')).isDirectory());
  for (let i = 0; i < 5; i++) t.throws(() => statSync(m.path('d', 'later')), { code: 'ENOENT' });
  const counts = await stats(m);
  t.true((counts.addon.get('LOOKUP') ?? 0) >= 1);
  writeFileSync(m.path('d', 'later'), 'made through the mount');
  t.is(statSync(m.path('d', 'later')).size, 22);
});

test('a name below a directory renamed through the mount is looked for under the new name, not the registered old path', async (t) => {
  // Long-lived entries: after the rename the kernel walks b/sub from its own
  // dentries and sends only the LOOKUP of x below sub, whose registered path
  // is still a/sub.
  const m = await withMount(t, { options: ['cache.entry=60', 'cache.attr=60', 'passthrough.io=off'] });
  mkdirSync(m.path('a', 'sub'), { recursive: true });
  for (let i = 0; i < 3; i++) t.true(statSync(m.path('a', 'sub')).isDirectory());
  t.throws(() => statSync(m.path('a', 'sub', 'x')), { code: 'ENOENT' });
  renameSync(m.path('a'), m.path('b'));
  writeFileSync(m.src('b', 'sub', 'x'), 'found under the new name');
  t.is(statSync(m.path('b', 'sub', 'x')).size, 24);
  // And GETATTR of the moved directory itself.
  t.true(statSync(m.path('b', 'sub')).isDirectory());
  t.throws(() => statSync(m.path('a', 'sub')), { code: 'ENOENT' });
});

test('GETXATTR security.capability of a served name is answered in the addon, as a plain directory answers it; with security_capability=false, ENODATA', async (t) => {
  // A VFS_CAP_REVISION_2 value: effective, permitted cap_net_raw.
  const script = `
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def size_of(p):
    n = libc.getxattr(os.fsencode(p), b'security.capability', None, 0)
    return n if n >= 0 else os.strerror(ctypes.get_errno())
def value(p):
    try: return os.getxattr(p, 'security.capability').hex()
    except OSError as e: return os.strerror(e.errno)
out = []
for root in sys.argv[1:]:
    for n in ['cap', 'plain']:
        p = os.path.join(root, n)
        os.lstat(p)
        out.append(f'{n} {size_of(p)} {value(p)}')
print('\\n'.join(out))
`;
  for (const capabilities of [true, false]) {
    const m = await withMount(t, { options: [...fresh, ...(capabilities ? [] : ['security_capability=false'])] });
    writeFileSync(m.src('cap'), 'x');
    writeFileSync(m.src('plain'), 'y');
    const set = spawnSync('python3', ['-c', `import os, struct; os.setxattr(${JSON.stringify(m.src('cap'))}, 'security.capability', struct.pack('<IIIII', 0x02000001, 1 << 13, 0, 0, 0))`]);
    t.is(set.status, 0, set.stderr.toString());
    const run = spawnSync('python3', ['-c', script, m.path(), m.source], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr);
    const [onMount, onPlain] = [run.stdout.split('\n').slice(0, 2), run.stdout.split('\n').slice(2, 4)];
    if (capabilities) t.deepEqual(onMount, onPlain, 'the same sizes and values as the plain directory');
    else t.deepEqual(onMount, ['cap No data available No data available', 'plain No data available No data available']);
    t.true(((await stats(m)).addon.get('GETXATTR') ?? 0) >= 4, 'answered in the addon');
  }
});
