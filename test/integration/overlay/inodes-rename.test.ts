// Overlay mode, rename and inode numbers: renaming a lower directory works
// (fuse-overlayfs answers EXDEV; braidfs does not) and survives remounts, a
// lower file keeps its st_ino through copy-up, rename and remount, hard links
// in a lower layer share one inode, readdir's d_ino matches st_ino, and a
// series of changes reads back identically after a remount.
//
// All layers live on /tmp (one ext4 filesystem), so lower inode numbers can
// be shown as they are. Layers are prepared by writing into the lower
// directories before mounting; the mount itself is only touched with
// ordinary syscalls (node:fs, python3 for readdir's d_ino).
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { makeLayers, withOverlay, type OverlayLayout, type OverlayMounted, type OverlayProgram } from '../../helpers/overlay.js';
import { run } from '../util.js';

/** Which program mounts the layers. Always braidfs in the suite; 'fuse-overlayfs' only to sanity-check the tests themselves. */
const PROGRAM: OverlayProgram = (process.env['BRAIDFS_OVERLAY_TEST_PROGRAM'] as OverlayProgram | undefined) ?? 'braidfs';

type Layers = OverlayLayout & { base: string; upper: string; work: string };

/** `n` lower layers (top first) plus upper and work; removed after the test (after the unmount: teardowns run last-in-first-out). */
function layers(t: ExecutionContext, n = 1): Layers {
  const l = makeLayers(n);
  t.teardown(() => rmSync(l.base, { recursive: true, force: true }));
  return { ...l, upper: l.upper!, work: l.work! };
}

const mount = (t: ExecutionContext, l: OverlayLayout): Promise<OverlayMounted> => withOverlay(t, l, { program: PROGRAM });

/** Unmounts `m` and mounts the same layers again. */
async function remount(t: ExecutionContext, m: OverlayMounted): Promise<OverlayMounted> {
  await m.unmount();
  return mount(t, m.layout);
}

/** A setup command on the layers (never on the mount); throws when it fails. */
function sh(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

/** Writes `files` (path → contents; a path ending in '/' is a directory) under `root`. */
function put(root: string, files: Record<string, string>): void {
  for (const [rel, data] of Object.entries(files)) {
    if (rel.endsWith('/')) mkdirSync(join(root, rel), { recursive: true });
    else {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), data);
    }
  }
}

/** 'OK' when `fn` returns, else the error's code. */
function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    throw e;
  }
}

/**
 * Every entry under `dir`, recursively, sorted: `rel type mode size [contents | -> target]`,
 * plus ` mtime=NS` when `withMtime`. Directory sizes are left out unless `withMtime` (they
 * depend on the filesystem, not on what the directory holds).
 */
function tree(dir: string, withMtime = false, rel = ''): string[] {
  return readdirSync(join(dir, rel))
    .sort()
    .flatMap((n) => {
      const r = rel === '' ? n : `${rel}/${n}`;
      const p = join(dir, r);
      const st = lstatSync(p, { bigint: true });
      const mode = (st.mode & 0o7777n).toString(8);
      const mt = withMtime ? ` mtime=${st.mtimeNs}` : '';
      if (st.isDirectory()) return [`${r}/ dir ${mode}${withMtime ? ` size=${st.size}` : ''}${mt}`, ...tree(dir, withMtime, r)];
      if (st.isFile()) return [`${r} file ${mode} size=${st.size} ${JSON.stringify(readFileSync(p, 'latin1'))}${mt}`];
      if (st.isSymbolicLink()) return [`${r} symlink -> ${readlinkSync(p)}${mt}`];
      return [`${r} other ${st.mode.toString(8)} rdev=${st.rdev}${mt}`];
    });
}

// --- renaming lower directories and files ---------------------------------------------

const LOWER_DIR = {
  'dir/a': 'file a',
  'dir/sub/b': 'file b',
  'dir/sub/deep/c': 'file c',
  'dir/empty/': '',
  other: 'other',
};

function lowerDirStack(t: ExecutionContext): Layers {
  const l = layers(t);
  put(l.lowers[0]!, LOWER_DIR);
  symlinkSync('../a', join(l.lowers[0]!, 'dir', 'sub', 'link'));
  chmodSync(join(l.lowers[0]!, 'dir', 'sub'), 0o750);
  sh('touch', '-d', '2003-04-05 06:07:08.9', join(l.lowers[0]!, 'dir', 'a'));
  return l;
}

test.serial('rename of a lower directory moves its whole tree; the lower layer is untouched; it survives remount', async (t) => {
  const l = lowerDirStack(t);
  const lowerBefore = tree(l.lowers[0]!, true);
  const want = tree(join(l.lowers[0]!, 'dir'));
  let m = await mount(t, l);

  t.is(errnoOf(() => renameSync(m.path('dir'), m.path('dir2'))), 'OK');

  t.deepEqual(tree(m.path('dir2')), want, 'dir2 has all of dir’s content');
  t.is(errnoOf(() => lstatSync(m.path('dir'))), 'ENOENT');
  t.deepEqual(readdirSync(m.mountpoint).sort(), ['dir2', 'other']);
  t.deepEqual(tree(l.lowers[0]!, true), lowerBefore, 'lower unchanged');

  m = await remount(t, m);
  t.deepEqual(tree(m.path('dir2')), want, 'after remount');
  t.is(errnoOf(() => lstatSync(m.path('dir'))), 'ENOENT', 'after remount');
  t.deepEqual(readdirSync(m.mountpoint).sort(), ['dir2', 'other'], 'after remount');
});

test.serial('a renamed lower directory takes new files and can be renamed again, across remounts', async (t) => {
  const l = lowerDirStack(t);
  const lowerBefore = tree(l.lowers[0]!, true);
  const want = tree(join(l.lowers[0]!, 'dir'));
  let m = await mount(t, l);

  renameSync(m.path('dir'), m.path('dir2'));
  writeFileSync(m.path('dir2', 'new'), 'new file');
  writeFileSync(m.path('dir2', 'sub', 'deep', 'new2'), 'new file 2');
  t.is(readFileSync(m.path('dir2', 'new'), 'latin1'), 'new file');
  const want2 = tree(m.path('dir2'));
  t.deepEqual(
    want2.filter((e) => !e.startsWith('new ') && !e.startsWith('sub/deep/new2 ')),
    want,
  );

  m = await remount(t, m);
  t.deepEqual(tree(m.path('dir2')), want2, 'after the first remount');

  t.is(errnoOf(() => renameSync(m.path('dir2'), m.path('dir3'))), 'OK');
  t.deepEqual(tree(m.path('dir3')), want2);

  m = await remount(t, m);
  t.deepEqual(tree(m.path('dir3')), want2, 'after the second remount');
  t.deepEqual(readdirSync(m.mountpoint).sort(), ['dir3', 'other']);
  for (const gone of ['dir', 'dir2']) t.is(errnoOf(() => lstatSync(m.path(gone))), 'ENOENT', gone);
  t.deepEqual(tree(l.lowers[0]!, true), lowerBefore, 'lower unchanged');
});

test.serial('rename of a lower file: the source is gone, the target has the data, after remount too', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { f: 'lower f', 'd/': '' });
  let m = await mount(t, l);

  t.is(errnoOf(() => renameSync(m.path('f'), m.path('d', 'g'))), 'OK');

  for (const when of ['before remount', 'after remount']) {
    if (when === 'after remount') m = await remount(t, m);
    t.is(errnoOf(() => lstatSync(m.path('f'))), 'ENOENT', when);
    t.is(readFileSync(m.path('d', 'g'), 'latin1'), 'lower f', when);
    t.deepEqual(readdirSync(m.mountpoint).sort(), ['d'], when);
    t.deepEqual(readdirSync(m.path('d')), ['g'], when);
  }
  t.is(readFileSync(join(l.lowers[0]!, 'f'), 'latin1'), 'lower f', 'lower unchanged');
});

// --- inode numbers --------------------------------------------------------------------

test.serial('st_ino of a lower file through the mount is the lower file’s own', async (t) => {
  const l = layers(t, 2);
  put(l.lowers[0]!, { top: 't', 'd/x': 'x' });
  put(l.lowers[1]!, { bottom: 'b', 'd/y': 'y' });
  const m = await mount(t, l);

  for (const [rel, layer] of [
    ['top', 0],
    ['bottom', 1],
    ['d/x', 0],
    ['d/y', 1],
  ] as const) {
    t.is(statSync(m.path(rel)).ino, statSync(join(l.lowers[layer]!, rel)).ino, rel);
  }
});

test.serial('st_ino of a lower file stays the same after copy-up, rename and remount', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { f: 'lower f', 'd/': '' });
  const ino = statSync(join(l.lowers[0]!, 'f')).ino;
  let m = await mount(t, l);

  t.is(statSync(m.path('f')).ino, ino, 'lower file');
  chmodSync(m.path('f'), 0o600);
  t.true(lstatSync(join(l.upper, 'f'), { throwIfNoEntry: false })?.isFile() ?? false, 'copied up');
  t.is(statSync(m.path('f')).ino, ino, 'after copy-up');
  m = await remount(t, m);
  t.is(statSync(m.path('f')).ino, ino, 'after copy-up and remount');
  renameSync(m.path('f'), m.path('d', 'g'));
  t.is(statSync(m.path('d', 'g')).ino, ino, 'after rename');
  m = await remount(t, m);
  t.is(statSync(m.path('d', 'g')).ino, ino, 'after rename and remount');
});

test.serial('two hard links in a lower layer show one st_ino and st_nlink 2', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { a: 'linked' });
  linkSync(join(l.lowers[0]!, 'a'), join(l.lowers[0]!, 'b'));
  const m = await mount(t, l);

  const a = statSync(m.path('a'));
  const b = statSync(m.path('b'));
  t.is(a.ino, b.ino);
  t.is(a.nlink, 2);
  t.is(b.nlink, 2);
  t.is(a.ino, statSync(join(l.lowers[0]!, 'a')).ino);
});

const PY_SCANDIR = `
import json, os, sys
print(json.dumps({e.name: e.inode() for e in os.scandir(sys.argv[1])}))
`;

test.serial('readdir d_ino equals st_ino for lower, upper, copied-up and merged entries', async (t) => {
  const l = layers(t, 2);
  put(l.lowers[0]!, { top: 't', 'merged/x': 'x', 'lowdir/': '' });
  put(l.lowers[1]!, { bottom: 'b', 'merged/y': 'y', copied: 'c' });
  linkSync(join(l.lowers[0]!, 'top'), join(l.lowers[0]!, 'toplink'));
  const m = await mount(t, l);
  writeFileSync(m.path('new'), 'upper');
  mkdirSync(m.path('newdir'));
  chmodSync(m.path('copied'), 0o600);
  writeFileSync(m.path('merged', 'z'), 'z');

  for (const dir of ['', 'merged']) {
    const r = await run('python3', ['-c', PY_SCANDIR, m.path(dir)]);
    t.is(r.code, 0, r.stderr);
    const dIno = JSON.parse(r.stdout) as Record<string, number>;
    const names = Object.keys(dIno).sort();
    t.deepEqual(names, dir === '' ? ['bottom', 'copied', 'lowdir', 'merged', 'new', 'newdir', 'top', 'toplink'] : ['x', 'y', 'z']);
    for (const n of names) t.is(dIno[n], lstatSync(m.path(dir, n)).ino, `${dir}/${n}`);
  }
});

// --- a series of changes, remounted ---------------------------------------------------

test.serial('after a series of changes the merged tree reads back identically after remount', async (t) => {
  const l = layers(t, 2);
  put(l.lowers[0]!, { a: 'lower a', b: 'lower b', 'd/x': 'x', 'd/y': 'y', 'e/z': 'z', 'e/sub/w': 'w' });
  put(l.lowers[1]!, { 'd/bottom': 'bottom', c0: 'bottom c0', keep: 'keep' });
  for (const p of ['a', 'b', 'd/x', 'e/z']) sh('touch', '-d', '2002-03-04 05:06:07.891', join(l.lowers[0]!, p));
  let m = await mount(t, l);

  writeFileSync(m.path('n'), 'new file');
  unlinkSync(m.path('a'));
  mkdirSync(m.path('a'));
  writeFileSync(m.path('a', 'inner'), 'inner');
  renameSync(m.path('b'), m.path('c'));
  renameSync(m.path('d', 'x'), m.path('e', 'x'));
  unlinkSync(m.path('d', 'bottom'));
  chmodSync(m.path('e', 'z'), 0o600);
  rmSync(m.path('e', 'sub'), { recursive: true });
  mkdirSync(m.path('e', 'sub'));
  unlinkSync(m.path('c0'));
  symlinkSync('c', m.path('sym'));
  mkdirSync(m.path('newdir', 'deeper'), { recursive: true });

  const before = tree(m.mountpoint, true);
  t.true(before.length > 10, before.join('\n'));
  m = await remount(t, m);
  t.deepEqual(tree(m.mountpoint, true), before);
});
