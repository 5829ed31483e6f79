// Directory handles the addon opens itself (fuse/served-dirs.ts, addon.c
// "Directory handles opened here"): OPENDIR of a served directory, the
// READDIR that finds the end of a listing and RELEASEDIR are answered
// without JS, and JS takes a handle over at its first listing, fsync or
// nameless stat. One script of directory calls, run from a separate
// process, must give the same record on a plain directory, on a mount where
// the addon answers and on one where JS answers everything
// (func.getattr=newest turns the addon's name serving off), and the addon
// must really have answered.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, withMount, type Mounted } from '../helpers/mount.js';
import { addonAnswered } from './util.js';

/** The tree: d (a few names, one on both branches), big (3,000 names over both), empty (for rmdir), keep. */
function fill(a: string, b: string): void {
  for (const root of new Set([a, b])) {
    mkdirSync(join(root, 'd'));
    mkdirSync(join(root, 'big'));
  }
  writeFileSync(join(a, 'd', 'on-a'), 'a');
  writeFileSync(join(b, 'd', 'on-b'), 'b');
  writeFileSync(join(a, 'd', 'both'), 'a');
  writeFileSync(join(b, 'd', 'both'), 'b');
  mkdirSync(join(a, 'd', 'sub'));
  for (let i = 0; i < 3000; i++) writeFileSync(join(i % 2 ? a : b, 'big', `name-${i}`), '');
  mkdirSync(join(a, 'empty'));
  mkdirSync(join(a, 'keep'));
  writeFileSync(join(a, 'keep', 'x'), 'x');
}

/**
 * Directory calls through libc (opendir, readdir, telldir, seekdir,
 * rewinddir), one record line each. Every directory is stat'ed first, so on
 * the addon mount its name is served and its OPENDIR answered there.
 */
/** Python: libc's directory stream calls through ctypes, and names(dp, n) reading up to n names ("." and ".." left out unless dots). */
const LIBC_DIRS = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.c_void_p
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.rewinddir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
libc.dirfd.argtypes = [ctypes.c_void_p]
NAME = 19  # offsetof(struct dirent, d_name) on x86-64 glibc
def names(dp, n=None, dots=False):
    out = []
    while n is None or len(out) < n:
        e = libc.readdir(dp)
        if not e: break
        name = ctypes.string_at(e + NAME).decode()
        if dots or name not in ('.', '..'): out.append(name)
    return out
`;

const SCRIPT = `${LIBC_DIRS}
root = sys.argv[1]
out = []
def rec(label, value): out.append(label + ' ' + str(value))
def do(label, fn):
    try: rec(label, fn())
    except OSError as e: rec(label, os.strerror(e.errno))
for d in ('d', 'big', 'empty', 'keep', 'd/sub'): os.stat(os.path.join(root, d))
p = lambda *x: os.path.join(root, *x).encode()
# A whole listing, twice (each open a new handle).
for i in range(2):
    dp = libc.opendir(p('d')); rec('d', sorted(names(dp))); libc.closedir(dp)
# rewinddir sees a name created since the first pass.
dp = libc.opendir(p('d'))
names(dp)
open(os.path.join(root, 'd', 'new'), 'w').close()
libc.rewinddir(dp)
rec('rewound', sorted(names(dp)))
libc.closedir(dp)
# 3,000 names over several batches; telldir and seekdir in the middle.
dp = libc.opendir(p('big'))
head = names(dp, 1000)
pos = libc.telldir(dp)
rest = names(dp)
libc.seekdir(dp, pos)
again = names(dp)
rec('big count', len(head) + len(rest))
rec('big distinct', len(set(head + rest)))
rec('seekdir gives the same rest', again == rest)
libc.closedir(dp)
# A dirfd that is never listed: openat through it, fsync it, fstat it.
fd = os.open(os.path.join(root, 'keep'), os.O_RDONLY | os.O_DIRECTORY)
do('openat via dirfd', lambda: os.read(os.open('x', os.O_RDONLY, dir_fd=fd), 10).decode())
do('fsync dir', lambda: os.fsync(fd))
do('fstat is the dir', lambda: os.fstat(fd).st_ino == os.stat(os.path.join(root, 'keep')).st_ino)
os.close(fd)
# An open directory removed through the mount: still fstat-able, no longer listable.
fd = os.open(os.path.join(root, 'empty'), os.O_RDONLY | os.O_DIRECTORY)
os.rmdir(os.path.join(root, 'empty'))
do('fstat removed nlink', lambda: os.fstat(fd).st_nlink)
do('fstat removed is a dir', lambda: oct(os.fstat(fd).st_mode & 0o170000))
do('list removed', lambda: os.listdir(fd))
os.close(fd)
# An open directory renamed through the mount lists what it holds.
fd = os.open(os.path.join(root, 'd', 'sub'), os.O_RDONLY | os.O_DIRECTORY)
os.rename(os.path.join(root, 'd', 'sub'), os.path.join(root, 'moved'))
open(os.path.join(root, 'moved', 'inside'), 'w').close()
do('list renamed', lambda: sorted(os.listdir(fd)))
os.close(fd)
print('\\n'.join(out))
`;

function runScript(root: string): string {
  const run = spawnSync('python3', ['-c', SCRIPT, root], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`script failed (${run.status}): ${run.stderr}`);
  return run.stdout;
}

/** Open fds of the daemon that are directories on its branches (its handles' fds, and nothing else it keeps open there). */
function branchDirFds(m: Mounted, roots: readonly string[]): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${m.pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${m.pid}/fd/${fd}`);
      if (roots.some((r) => target.startsWith(`${r}/`))) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

test('directory handles opened by the addon: the same record as a plain directory and as JS answering everything', async (t) => {
  const plainA = makeTempDir('braidfs-sdir-plain-');
  fill(plainA, plainA);
  const want = runScript(plainA);
  for (const addon of [true, false]) {
    const a = makeTempDir('braidfs-sdir-a-');
    const b = makeTempDir('braidfs-sdir-b-');
    fill(a, b);
    const options = ['cache.entry=0', 'cache.attr=0', 'category.create=ff', ...(addon ? [] : ['func.getattr=newest'])];
    const m = await withMount(t, { source: `${a}:${b}`, options });
    const got = runScript(m.path());
    t.is(got, want, `${addon ? 'addon' : 'JS'} mount against the plain directory`);
    const answered = await addonAnswered(m);
    if (addon) {
      for (const op of ['OPENDIR', 'READDIR', 'RELEASEDIR']) t.true((answered.get(op) ?? 0) >= 5, `${op} answered in the addon: ${answered.get(op) ?? 0}`);
    } else {
      t.false(answered.has('OPENDIR'), 'with func.getattr=newest JS opens every directory');
    }
    t.is(branchDirFds(m, [a, b]), 0, 'every directory handle closed, whoever answered its RELEASEDIR');
  }
  const lines = want.split('\n');
  // What the record says, spelled out.
  for (const line of ["d ['both', 'on-a', 'on-b', 'sub']", 'big count 3000', 'big distinct 3000', 'seekdir gives the same rest True', 'openat via dirfd x', 'fstat is the dir True', "rewound ['both', 'new', 'on-a', 'on-b', 'sub']", "list renamed ['inside']"]) {
    t.true(lines.includes(line), `${line}\n${want}`);
  }
});

test('handles the addon opened and nobody read are closed at RELEASEDIR; read ones too; with cache.readdir the kernel keeps the listing', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=60', 'cache.attr=60', 'cache.readdir=true'] });
  for (let i = 0; i < 50; i++) {
    mkdirSync(m.src(`d${i}`));
    writeFileSync(m.src(`d${i}`, 'f'), '');
  }
  const script = `
import os, sys
root = sys.argv[1]
for i in range(50): os.stat(os.path.join(root, 'd%d' % i))
held = [os.open(os.path.join(root, 'd%d' % i), os.O_RDONLY | os.O_DIRECTORY) for i in range(50)]
for fd in held: os.close(fd)
for r in range(3):
    for i in range(50): assert os.listdir(os.path.join(root, 'd%d' % i)) == ['f']
`;
  const run = spawnSync('python3', ['-c', script, m.path()], { encoding: 'utf8' });
  t.is(run.status, 0, run.stderr);
  const answered = await addonAnswered(m);
  t.true((answered.get('OPENDIR') ?? 0) >= 150, `OPENDIR answered in the addon: ${answered.get('OPENDIR') ?? 0}`);
  t.is(branchDirFds(m, [m.src()]), 0, 'no directory fd left open');
  const listed = /listings=(\d+)-read/.exec(m.log().split('\n').reverse().find((l) => l.includes('listings=')) ?? '')?.[1];
  t.is(Number(listed), 50, 'each directory listed once: the other reads came from the kernel cache.readdir copy');
});

test('a listing the addon made goes on in JS from the same listing: after an fsync hands the handle to JS, seekdir into it after names were added behind the mount gives the same rest', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=0', 'cache.attr=0'] });
  mkdirSync(m.src('small'));
  for (let i = 0; i < 10; i++) writeFileSync(m.src('small', `f${i}`), '');
  const script = `${LIBC_DIRS}
d = os.path.join(sys.argv[1], 'small')
os.stat(d)
dp = libc.opendir(d.encode())
head = names(dp, 4, dots=True)
pos = libc.telldir(dp)
rest = names(dp, dots=True)
for i in range(30): open(os.path.join(sys.argv[2], 'small', 'late%d' % i), 'w').close()
os.fsync(libc.dirfd(dp))  # JS takes the handle over here, with the addon's listing
libc.seekdir(dp, pos)
again = names(dp, dots=True)
print(len(head) + len(rest), again == rest)
`;
  const run = spawnSync('python3', ['-c', script, m.path(), m.src()], { encoding: 'utf8' });
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout.trim(), '12 True', 'ten files, "." and "..", and the rest read again is the rest read first');
  const answered = await addonAnswered(m);
  t.is(answered.get('LISTING'), 1, 'the addon made the listing');
});
