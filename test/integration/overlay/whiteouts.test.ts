// Overlay mode, whiteouts and opaque directories: what unlink, rmdir and
// `rm -rf` of lower entries write in the upper layer (a whiteout, never a
// copy), every on-disk whiteout/opaque form a lower layer may carry (written
// by the kernel, fuse-overlayfs or an AUFS-format image), and mkdir over a
// whiteout (an opaque directory).
//
// Layers are prepared by writing into the lower directories before mounting;
// the mount itself is only touched with ordinary syscalls.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { makeLayers, withOverlay, type OverlayLayout, type OverlayMounted, type OverlayMountOptions, type OverlayProgram } from '../../helpers/overlay.js';
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

const mount = (t: ExecutionContext, l: OverlayLayout, opts: OverlayMountOptions = {}): Promise<OverlayMounted> =>
  withOverlay(t, l, { program: PROGRAM, ...opts });

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

const lst = (p: string): Stats | undefined => lstatSync(p, { throwIfNoEntry: false });

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

const isWhiteout = (st: Stats | undefined): boolean => st !== undefined && st.isCharacterDevice() && st.rdev === 0;

/** Every entry under `dir`, recursively, sorted: `rel type [contents]`, for before/after comparisons of a layer. */
function tree(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel))
    .sort()
    .flatMap((n) => {
      const r = rel === '' ? n : `${rel}/${n}`;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) return [`${r}/ dir ${(st.mode & 0o7777).toString(8)}`, ...tree(dir, r)];
      if (st.isFile()) return [`${r} file ${readFileSync(join(dir, r), 'latin1')} ${st.mtimeMs}`];
      if (st.isSymbolicLink()) return [`${r} symlink`];
      return [`${r} other ${st.mode.toString(8)} ${st.rdev}`];
    });
}

/** Entries under `dir` (recursive) that are neither directories nor char 0/0 whiteouts. */
function nonWhiteouts(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel)).flatMap((n) => {
    const r = rel === '' ? n : `${rel}/${n}`;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) return nonWhiteouts(dir, r);
    return isWhiteout(st) ? [] : [r];
  });
}

/** Readdir of a directory through the mount, sorted. */
const ls = (p: string): string[] => readdirSync(p).sort();

/** `name` is gone from the merged view: lookup says ENOENT and readdir of its parent leaves it out. */
function assertHidden(t: ExecutionContext, m: OverlayMounted, dir: string, name: string): void {
  t.is(errnoOf(() => lstatSync(m.path(dir, name))), 'ENOENT', `lstat ${dir}/${name}`);
  t.false(readdirSync(m.path(dir)).includes(name), `readdir ${dir || '/'} leaves out ${name}`);
}

// --- unlink ---------------------------------------------------------------------------

test.serial('unlink of a lower file writes only a whiteout (char 0/0) in upper, no copy of the data', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { f: 'lower data', keep: 'k', 'd/g': 'lower g' });
  const lowerBefore = tree(l.lowers[0]!);
  const m = await mount(t, l);

  unlinkSync(m.path('f'));
  unlinkSync(m.path('d', 'g'));

  for (const rel of ['f', 'd/g']) {
    const st = lst(join(l.upper, rel));
    t.truthy(st, `upper/${rel} exists`);
    t.true(isWhiteout(st), `upper/${rel} is a char device 0/0 (mode ${st?.mode.toString(8)}, rdev ${st?.rdev})`);
  }
  t.false(lst(join(l.upper, 'keep')) !== undefined, 'other files are not copied up');
  t.deepEqual(tree(l.lowers[0]!), lowerBefore, 'lower unchanged');
  assertHidden(t, m, '', 'f');
  assertHidden(t, m, 'd', 'g');
  t.deepEqual(ls(m.mountpoint), ['d', 'keep']);
  t.deepEqual(ls(m.path('d')), []);
});

test.serial('unlink with FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT=1 writes an empty .wh.NAME file instead', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { f: 'lower data', keep: 'k' });
  const m = await mount(t, l, { env: { FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT: '1' } });

  unlinkSync(m.path('f'));

  const wh = lst(join(l.upper, '.wh.f'));
  t.true(wh?.isFile() ?? false, 'upper/.wh.f is a regular file');
  t.is(wh?.size, 0, 'and empty');
  t.is(lst(join(l.upper, 'f')), undefined, 'no upper/f at all');
  assertHidden(t, m, '', 'f');
  t.deepEqual(ls(m.mountpoint), ['keep'], '.wh.f does not show');
  t.is(readFileSync(join(l.lowers[0]!, 'f'), 'latin1'), 'lower data');
});

// --- rmdir ----------------------------------------------------------------------------

test.serial('rmdir of an empty lower directory writes a whiteout and the directory is gone', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { 'e/': '', keep: 'k' });
  const m = await mount(t, l);

  rmdirSync(m.path('e'));

  t.true(isWhiteout(lst(join(l.upper, 'e'))), 'upper/e is a char device 0/0');
  assertHidden(t, m, '', 'e');
  t.true(lst(join(l.lowers[0]!, 'e'))?.isDirectory(), 'lower/e still there');
});

test.serial('rmdir of a lower directory emptied through the mount succeeds and writes a whiteout', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { 'd/a': 'a', 'd/b': 'b' });
  const m = await mount(t, l);

  unlinkSync(m.path('d', 'a'));
  unlinkSync(m.path('d', 'b'));
  t.deepEqual(ls(m.path('d')), []);
  t.is(errnoOf(() => rmdirSync(m.path('d'))), 'OK');

  t.true(isWhiteout(lst(join(l.upper, 'd'))), 'upper/d is a char device 0/0');
  assertHidden(t, m, '', 'd');
  t.deepEqual(ls(join(l.lowers[0]!, 'd')), ['a', 'b'], 'lower unchanged');
});

test.serial('rmdir of a merged directory whose lower part holds a file fails with ENOTEMPTY', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { 'd/lowerfile': 'x' });
  const m = await mount(t, l);
  writeFileSync(m.path('d', 'upperfile'), 'y');
  unlinkSync(m.path('d', 'upperfile'));

  t.is(errnoOf(() => rmdirSync(m.path('d'))), 'ENOTEMPTY');
  t.deepEqual(ls(m.path('d')), ['lowerfile']);
  t.is(readFileSync(m.path('d', 'lowerfile'), 'latin1'), 'x');
});

test.serial('rm -rf of a lower tree works and leaves only whiteouts in upper', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { 't/a/x': 'x', 't/a/y': 'y', 't/b/deep/z': 'z', 't/c/': '', 't/top': 'top', keep: 'k' });
  symlinkSync('top', join(l.lowers[0]!, 't', 'link'));
  const lowerBefore = tree(l.lowers[0]!);
  const m = await mount(t, l);

  const r = await run('rm', ['-rf', m.path('t')]);
  t.is(r.code, 0, r.stderr);

  assertHidden(t, m, '', 't');
  t.deepEqual(ls(m.mountpoint), ['keep']);
  t.true(isWhiteout(lst(join(l.upper, 't'))), 'upper/t is a char device 0/0');
  t.deepEqual(nonWhiteouts(l.upper), [], 'nothing but directories and whiteouts in upper');
  t.deepEqual(tree(l.lowers[0]!), lowerBefore, 'lower unchanged');
});

// --- every whiteout and opaque form in lower layers ------------------------------------
// Two lower layers: L1 (top) carries the marker, L2 (bottom) the real files.

async function twoLowers(t: ExecutionContext, top: (l1: string) => void, bottom: Record<string, string>): Promise<{ l: Layers; m: OverlayMounted }> {
  const l = layers(t, 2);
  put(l.lowers[1]!, bottom);
  top(l.lowers[0]!);
  const m = await mount(t, l);
  return { l, m };
}

test.serial('lower whiteout: a char device 0/0 in L1 hides the L2 file of that name', async (t) => {
  const { m } = await twoLowers(t, (l1) => sh('mknod', join(l1, 'x'), 'c', '0', '0'), { x: 'hidden', y: 'shown' });
  assertHidden(t, m, '', 'x');
  t.deepEqual(ls(m.mountpoint), ['y']);
  t.is(readFileSync(m.path('y'), 'latin1'), 'shown');
});

test.serial('lower whiteout: a .wh.NAME file in L1 hides the L2 file, and .wh.NAME itself never shows', async (t) => {
  const { m } = await twoLowers(t, (l1) => writeFileSync(join(l1, '.wh.x'), ''), { x: 'hidden', y: 'shown' });
  assertHidden(t, m, '', 'x');
  assertHidden(t, m, '', '.wh.x');
  t.deepEqual(ls(m.mountpoint), ['y']);
});

test.serial('lower opaque marker: .wh..wh..opq inside L1/d hides everything in L2/d but L1/d’s own entries', async (t) => {
  const { m } = await twoLowers(
    t,
    (l1) => put(l1, { 'd/.wh..wh..opq': '', 'd/own': 'L1 own', 'd/both': 'L1 both' }),
    { 'd/low1': 'hidden', 'd/low2/deep': 'hidden', 'd/both': 'L2 both' },
  );
  t.deepEqual(ls(m.path('d')), ['both', 'own']);
  assertHidden(t, m, 'd', 'low1');
  assertHidden(t, m, 'd', 'low2');
  assertHidden(t, m, 'd', '.wh..wh..opq');
  t.is(readFileSync(m.path('d', 'both'), 'latin1'), 'L1 both');
});

for (const xattr of ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque']) {
  test.serial(`lower opaque marker: ${xattr}=y on L1/d hides everything in L2/d but L1/d’s own entries`, async (t) => {
    const { m } = await twoLowers(
      t,
      (l1) => {
        put(l1, { 'd/own': 'L1 own', 'd/both': 'L1 both' });
        sh('setfattr', '-n', xattr, '-v', 'y', join(l1, 'd'));
      },
      { 'd/low1': 'hidden', 'd/low2/deep': 'hidden', 'd/both': 'L2 both', other: 'shown' },
    );
    t.deepEqual(ls(m.path('d')), ['both', 'own']);
    assertHidden(t, m, 'd', 'low1');
    assertHidden(t, m, 'd', 'low2');
    t.is(readFileSync(m.path('d', 'both'), 'latin1'), 'L1 both');
    t.deepEqual(ls(m.mountpoint), ['d', 'other']);
  });
}

test.serial('lower whiteout, kernel xattr form: an empty file with trusted.overlay.whiteout in a dir marked opaque=x hides the L2 file', async (t) => {
  const { m } = await twoLowers(
    t,
    (l1) => {
      put(l1, { 'd/x': '', 'd/own': 'L1 own' });
      sh('setfattr', '-n', 'trusted.overlay.whiteout', '-v', 'y', join(l1, 'd', 'x'));
      sh('setfattr', '-n', 'trusted.overlay.opaque', '-v', 'x', join(l1, 'd'));
    },
    { 'd/x': 'hidden', 'd/y': 'shown' },
  );
  assertHidden(t, m, 'd', 'x');
  t.deepEqual(ls(m.path('d')), ['own', 'y'], 'opaque=x is not opaque: L2/d/y still shows');
  t.is(readFileSync(m.path('d', 'y'), 'latin1'), 'shown');
});

test.serial('lower whiteout next to a directory of the same name in L1 (.wh.D + D/): D shows only L1’s content', async (t) => {
  const { m } = await twoLowers(
    t,
    (l1) => {
      put(l1, { 'D/own': 'L1 own' });
      writeFileSync(join(l1, '.wh.D'), '');
    },
    { 'D/low': 'hidden', 'D/own': 'L2 own', other: 'shown' },
  );
  t.true(lstatSync(m.path('D')).isDirectory());
  t.deepEqual(ls(m.path('D')), ['own']);
  assertHidden(t, m, 'D', 'low');
  assertHidden(t, m, '', '.wh.D');
  t.is(readFileSync(m.path('D', 'own'), 'latin1'), 'L1 own');
  t.deepEqual(ls(m.mountpoint), ['D', 'other']);
});

// --- mkdir over a whiteout --------------------------------------------------------------

/** The value of an xattr on a path outside the mount, or undefined when absent. */
function getx(p: string, name: string): string | undefined {
  const r = spawnSync('getfattr', ['--absolute-names', '--only-values', '-n', name, p], { encoding: 'latin1' });
  if (r.status === 0) return r.stdout;
  if (/No such attribute/.test(r.stderr)) return undefined;
  throw new Error(`getfattr -n ${name} ${p}: ${r.stderr}`);
}

test.serial('mkdir where a lower file was unlinked makes an opaque directory in upper', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { f: 'lower file' });
  const m = await mount(t, l);

  unlinkSync(m.path('f'));
  mkdirSync(m.path('f'));

  t.true(lstatSync(m.path('f')).isDirectory());
  t.deepEqual(ls(m.path('f')), []);
  t.true(lst(join(l.upper, 'f'))?.isDirectory(), 'upper/f is a directory');
  t.is(getx(join(l.upper, 'f'), 'trusted.overlay.opaque'), 'y');
  t.is(readFileSync(join(l.lowers[0]!, 'f'), 'latin1'), 'lower file');
});

test.serial('mkdir where a lower directory was removed makes an opaque directory: the old content stays hidden, after remount too', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { 'd/a': 'a', 'd/sub/b': 'b' });
  let m = await mount(t, l);

  const r = await run('rm', ['-rf', m.path('d')]);
  t.is(r.code, 0, r.stderr);
  mkdirSync(m.path('d'));
  writeFileSync(m.path('d', 'new'), 'new');

  t.deepEqual(ls(m.path('d')), ['new']);
  t.is(getx(join(l.upper, 'd'), 'trusted.overlay.opaque'), 'y');

  await m.unmount();
  m = await mount(t, l);
  t.deepEqual(ls(m.path('d')), ['new'], 'after remount');
  assertHidden(t, m, 'd', 'a');
  assertHidden(t, m, 'd', 'sub');
  t.deepEqual(ls(join(l.lowers[0]!, 'd')), ['a', 'sub'], 'lower unchanged');
});

test.serial('mkdir of a brand-new name is not opaque', async (t) => {
  const l = layers(t);
  put(l.lowers[0]!, { keep: 'k' });
  const m = await mount(t, l);

  mkdirSync(m.path('n'));
  mkdirSync(m.path('n', 'sub'));

  for (const d of ['n', 'n/sub']) {
    const up = join(l.upper, d);
    t.true(lst(up)?.isDirectory(), `upper/${d} is a directory`);
    for (const x of ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque']) t.is(getx(up, x), undefined, `${d}: no ${x}`);
    t.is(lst(join(up, '.wh..wh..opq')), undefined, `${d}: no .wh..wh..opq`);
  }
  t.deepEqual(ls(m.path('n')), ['sub']);
});
