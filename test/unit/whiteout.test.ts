// whiteout: every on-disk whiteout/opaque form of reference §1.3 and §5.2,
// read and written on real temp directories (root can mknod 0/0 and set
// trusted.* xattrs, so both namespaces are covered).
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from '../../src/sys/fs.js';
import {
  OPAQUE_NAME,
  dirHasXattrWhiteouts,
  filterListing,
  hiddenName,
  isOpaqueDir,
  isReservedName,
  isWhiteoutAt,
  isWhiteoutName,
  isWhiteoutStat,
  makeOpaque,
  nameKey,
  readLayerDir,
  removeWhiteout,
  whiteoutNameFor,
  writeWhiteout,
} from '../../src/union/whiteout.js';
import { makeTempDir } from '../helpers/mount.js';

const B = (s: string): Buffer => Buffer.from(s);
const NULL_DEV = (1 << 8) | 3; // makedev(1, 3): a real char device, not a whiteout

interface Layer {
  dir: string;
  fd: number;
  p: (...parts: string[]) => string;
  xattr: (rel: string, name: string, value: string) => Promise<void>;
  chardev: (rel: string, dev: number) => Promise<void>;
}

function layer(t: ExecutionContext): Layer {
  const dir = makeTempDir('braidfs-whiteout-');
  const fd = sys.openPath(B(dir));
  t.teardown(() => {
    sys.closeQuietly(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    fd,
    p: (...parts) => join(dir, ...parts),
    xattr: (rel, name, value) => sys.lsetxattr(fd, B(rel || '.'), B(name), B(value), 0),
    chardev: (rel, dev) => sys.mknod(fd, B(rel), sys.S_IFCHR | 0o600, dev),
  };
}

// --- names

test('names: .wh. prefix, the name it hides, reserved names', (t) => {
  t.deepEqual(whiteoutNameFor(B('foo')), B('.wh.foo'));
  const odd = Buffer.from([0xff, 0x2e, 0x80]); // not UTF-8: must survive byte for byte
  t.deepEqual(hiddenName(whiteoutNameFor(odd)), odd);
  t.true(isWhiteoutName(B('.wh.foo')));
  t.true(isWhiteoutName(B('.wh..hidden')));
  t.false(isWhiteoutName(B(OPAQUE_NAME)), 'the opaque marker hides no name');
  t.false(isWhiteoutName(B('.wh.')));
  t.false(isWhiteoutName(B('foo')));
  t.false(isWhiteoutName(B('.wh')));
  t.false(isWhiteoutName(B('x.wh.foo')));
  t.deepEqual(hiddenName(B('.wh.bar')), B('bar'));
  t.is(hiddenName(B('bar')), undefined);
  t.is(hiddenName(B(OPAQUE_NAME)), undefined);
  for (const n of ['.wh.foo', '.wh.', OPAQUE_NAME, '.wh..opq']) t.true(isReservedName(B(n)), n);
  for (const n of ['foo', '.wh', '.whfoo', 'a.wh.b', '.WH.foo']) t.false(isReservedName(B(n)), n);
});

test('isWhiteoutStat: char 0/0 only', async (t) => {
  const l = layer(t);
  await l.chardev('wo', 0);
  await l.chardev('null', NULL_DEV);
  writeFileSync(l.p('file'), '');
  t.true(isWhiteoutStat(await sys.lstat(l.fd, B('wo'))));
  t.false(isWhiteoutStat(await sys.lstat(l.fd, B('null'))), 'a real device');
  t.false(isWhiteoutStat(await sys.lstat(l.fd, B('file'))), 'rdev is 0 for a file too, but it is no device');
  t.false(isWhiteoutStat({ mode: sys.S_IFDIR | 0o755, rdev: 0 }));
});

// --- opaque directories

test('isOpaqueDir: each opaque xattr set to "y" (trusted and user namespaces)', async (t) => {
  const l = layer(t);
  const forms = ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque'];
  for (const x of forms) {
    mkdirSync(l.p(x));
    await l.xattr(x, x, 'y');
    t.true(await isOpaqueDir(l.fd, B(x)), x);
  }
  await l.xattr('', 'trusted.overlay.opaque', 'y');
  t.true(await isOpaqueDir(l.fd, Buffer.alloc(0)), 'the layer root itself (empty relative path)');
});

test('isOpaqueDir: .wh..wh..opq inside; negatives: plain, "x", other values', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('aufs'));
  writeFileSync(l.p('aufs', OPAQUE_NAME), '');
  t.true(await isOpaqueDir(l.fd, B('aufs')), 'the AUFS marker file');

  mkdirSync(l.p('plain'));
  writeFileSync(l.p('plain', 'f'), 'x');
  t.false(await isOpaqueDir(l.fd, B('plain')));
  t.false(await isOpaqueDir(l.fd, Buffer.alloc(0)));

  mkdirSync(l.p('x'));
  await l.xattr('x', 'trusted.overlay.opaque', 'x');
  t.false(await isOpaqueDir(l.fd, B('x')), '"x" means merged with xattr whiteouts, not opaque (§5.2)');
  t.true(await dirHasXattrWhiteouts(l.fd, B('x')));

  mkdirSync(l.p('other'));
  await l.xattr('other', 'user.overlay.opaque', 'yes');
  await l.xattr('other', 'trusted.overlay.opaque', 'n');
  await l.xattr('other', 'user.something.opaque', 'y');
  t.false(await isOpaqueDir(l.fd, B('other')), 'only exactly "y" in the known names counts');
  t.false(await dirHasXattrWhiteouts(l.fd, B('other')));

  await t.throwsAsync(isOpaqueDir(l.fd, B('missing')), { code: 'ENOENT' }, 'a missing directory is an error, not "not opaque"');
});

// --- whiteouts

test('isWhiteoutAt: char 0/0, .wh. file, .wh. of any type', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('d'));
  await l.chardev('d/gone', 0);
  writeFileSync(l.p('d', '.wh.aufs'), '');
  mkdirSync(l.p('d', '.wh.asdir'));
  t.true(await isWhiteoutAt(l.fd, B('d'), B('gone')));
  t.true(await isWhiteoutAt(l.fd, B('d'), B('aufs')));
  t.true(await isWhiteoutAt(l.fd, B('d'), B('asdir')));
  // at the layer root
  await l.chardev('top', 0);
  t.true(await isWhiteoutAt(l.fd, Buffer.alloc(0), B('top')));
});

test('isWhiteoutAt negatives: real files, real devices, missing names and parents', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('d'));
  writeFileSync(l.p('d', 'file'), '');
  await l.chardev('d/null', NULL_DEV);
  mkdirSync(l.p('d', 'sub'));
  t.false(await isWhiteoutAt(l.fd, B('d'), B('file')));
  t.false(await isWhiteoutAt(l.fd, B('d'), B('null')));
  t.false(await isWhiteoutAt(l.fd, B('d'), B('sub')));
  t.false(await isWhiteoutAt(l.fd, B('d'), B('missing')));
  t.false(await isWhiteoutAt(l.fd, B('nodir'), B('x')), 'no parent: nothing whited out');
  t.false(await isWhiteoutAt(l.fd, B('d/file'), B('x')), 'parent is a file (ENOTDIR)');
  t.false(await isWhiteoutAt(l.fd, B('d'), B('n'.repeat(253))), '.wh. + 253 bytes is ENAMETOOLONG: no whiteout');
});

test('isWhiteoutAt: kernel xattr whiteouts only in a marked directory (trusted and user)', async (t) => {
  const l = layer(t);
  // current kernels: the directory carries overlay.opaque=x
  mkdirSync(l.p('kx'));
  await l.xattr('kx', 'trusted.overlay.opaque', 'x');
  writeFileSync(l.p('kx', 'gone'), '');
  await l.xattr('kx/gone', 'trusted.overlay.whiteout', '');
  writeFileSync(l.p('kx', 'full'), 'data');
  await l.xattr('kx/full', 'trusted.overlay.whiteout', '');
  writeFileSync(l.p('kx', 'plain'), '');
  t.true(await isWhiteoutAt(l.fd, B('kx'), B('gone')));
  t.false(await isWhiteoutAt(l.fd, B('kx'), B('full')), 'must be zero-size');
  t.false(await isWhiteoutAt(l.fd, B('kx'), B('plain')), 'an empty file without the xattr');

  // kernel 6.7: the directory carries overlay.whiteouts; userxattr spelling
  mkdirSync(l.p('ku'));
  await l.xattr('ku', 'user.overlay.whiteouts', '');
  writeFileSync(l.p('ku', 'gone'), '');
  await l.xattr('ku/gone', 'user.overlay.whiteout', 'y');
  t.true(await isWhiteoutAt(l.fd, B('ku'), B('gone')));
  t.true(await dirHasXattrWhiteouts(l.fd, B('ku')));

  // an unmarked directory: the xattr on the file alone is not enough
  mkdirSync(l.p('unmarked'));
  writeFileSync(l.p('unmarked', 'gone'), '');
  await l.xattr('unmarked/gone', 'trusted.overlay.whiteout', '');
  t.false(await isWhiteoutAt(l.fd, B('unmarked'), B('gone')));
  t.false(await dirHasXattrWhiteouts(l.fd, B('unmarked')));
});

test('writeWhiteout: char 0/0 when mknod is allowed', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('d'));
  t.is(await writeWhiteout(l.fd, B('d'), B('x'), { mknodAllowed: true }), 'chardev');
  const st = lstatSync(l.p('d', 'x'));
  t.true(st.isCharacterDevice());
  t.is(st.rdev, 0);
  t.is(st.mode & 0o777, 0o700);
  t.deepEqual(readdirSync(l.p('d')), ['x'], 'no .wh. file as well');
  t.true(await isWhiteoutAt(l.fd, B('d'), B('x')));
  t.is(await writeWhiteout(l.fd, B('d'), B('x'), { mknodAllowed: true }), 'chardev', 'again: already there');

  writeFileSync(l.p('d', 'real'), 'data');
  await t.throwsAsync(writeWhiteout(l.fd, B('d'), B('real'), { mknodAllowed: true }), { code: 'EEXIST' }, 'a real file is not overwritten');
  t.is(await writeWhiteout(l.fd, Buffer.alloc(0), B('top'), { mknodAllowed: true }), 'chardev');
  t.true(isWhiteoutStat(await sys.lstat(l.fd, B('top'))));
});

test('writeWhiteout: an empty .wh. file when mknod is not allowed', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('d'));
  t.is(await writeWhiteout(l.fd, B('d'), B('x'), { mknodAllowed: false }), 'whfile');
  const st = lstatSync(l.p('d', '.wh.x'));
  t.true(st.isFile());
  t.is(st.size, 0);
  t.is(st.mode & 0o777, 0o700);
  t.deepEqual(readdirSync(l.p('d')), ['.wh.x']);
  t.true(await isWhiteoutAt(l.fd, B('d'), B('x')));
  t.is(await writeWhiteout(l.fd, B('d'), B('x'), { mknodAllowed: false }), 'whfile', 'again: already there');
  await t.throwsAsync(writeWhiteout(l.fd, B('nodir'), B('x'), { mknodAllowed: false }), { code: 'ENOENT' });
});

test('removeWhiteout: both forms go, real entries stay', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('d'));
  await l.chardev('d/a', 0);
  writeFileSync(l.p('d', '.wh.a'), '');
  mkdirSync(l.p('d', '.wh.b'));
  writeFileSync(l.p('d', 'c'), '');
  await l.chardev('d/null', NULL_DEV);
  t.is(await removeWhiteout(l.fd, B('d'), B('a')), 2);
  t.is(await removeWhiteout(l.fd, B('d'), B('b')), 1);
  t.is(await removeWhiteout(l.fd, B('d'), B('c')), 0);
  t.is(await removeWhiteout(l.fd, B('d'), B('null')), 0);
  t.is(await removeWhiteout(l.fd, B('d'), B('missing')), 0);
  t.deepEqual(readdirSync(l.p('d')).sort(), ['c', 'null']);
});

test('makeOpaque: trusted namespace', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('d'));
  t.false(await isOpaqueDir(l.fd, B('d')));
  t.is(await makeOpaque(l.fd, B('d'), { xattrNamespace: 'trusted' }), 'trusted');
  t.deepEqual(await sys.lgetxattr(l.fd, B('d'), B('trusted.overlay.opaque'), 16), B('y'));
  t.true(await isOpaqueDir(l.fd, B('d')));
  t.deepEqual(readdirSync(l.p('d')), [], 'no marker file when the xattr worked');
  t.is(await makeOpaque(l.fd, Buffer.alloc(0), { xattrNamespace: 'trusted' }), 'trusted');
  t.true(await isOpaqueDir(l.fd, Buffer.alloc(0)));
});

test('makeOpaque: user namespace (rootless); "x" is overwritten', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('d'));
  await l.xattr('d', 'user.overlay.opaque', 'x');
  t.is(await makeOpaque(l.fd, B('d'), { xattrNamespace: 'user' }), 'user');
  t.deepEqual(await sys.lgetxattr(l.fd, B('d'), B('user.overlay.opaque'), 16), B('y'));
  await t.throwsAsync(sys.lgetxattr(l.fd, B('d'), B('trusted.overlay.opaque'), 16), { code: 'ENODATA' });
  t.true(await isOpaqueDir(l.fd, B('d')));
  await t.throwsAsync(makeOpaque(l.fd, B('missing'), { xattrNamespace: 'user' }), { code: 'ENOENT' });
});

// --- listings

test('filterListing: a mix of every form', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('d'));
  writeFileSync(l.p('d', 'keep'), 'data');
  writeFileSync(l.p('d', 'empty'), '');
  mkdirSync(l.p('d', 'sub'));
  await l.chardev('d/null', NULL_DEV);
  await l.chardev('d/gone-chr', 0);
  writeFileSync(l.p('d', '.wh.gone-aufs'), '');
  mkdirSync(l.p('d', 'both'));
  writeFileSync(l.p('d', '.wh.both'), ''); // real D plus .wh.D (§1.3 row 3)
  writeFileSync(l.p('d', 'gone-x'), '');
  await l.xattr('d/gone-x', 'trusted.overlay.whiteout', '');
  await l.xattr('d', 'trusted.overlay.opaque', 'x');

  const r = await readLayerDir(l.fd, B('d'));
  const shown = r.visible.map((e) => e.name.toString()).sort();
  t.deepEqual(shown, ['.', '..', 'both', 'empty', 'keep', 'null', 'sub']);
  t.deepEqual([...r.hidden].sort(), ['both', 'gone-aufs', 'gone-chr', 'gone-x']);
  t.false(r.opaque, '"x" is merged, not opaque');
  const sub = r.visible.find((e) => e.name.equals(B('sub')));
  t.is(sub?.type, 4, 'entries pass through unchanged (DT_DIR)');
});

test('filterListing: opaque by marker file or xattr; an unmarked directory keeps empty xattr files', async (t) => {
  const l = layer(t);
  mkdirSync(l.p('aufs'));
  writeFileSync(l.p('aufs', OPAQUE_NAME), '');
  writeFileSync(l.p('aufs', 'f'), '');
  const a = await readLayerDir(l.fd, B('aufs'));
  t.true(a.opaque);
  t.deepEqual(a.visible.map((e) => e.name.toString()).sort(), ['.', '..', 'f'], 'the marker itself never shows');
  t.is(a.hidden.size, 0);

  mkdirSync(l.p('user'));
  await l.xattr('user', 'user.fuseoverlayfs.opaque', 'y');
  t.true((await readLayerDir(l.fd, B('user'))).opaque);

  mkdirSync(l.p('plain'));
  writeFileSync(l.p('plain', 'stray'), '');
  await l.xattr('plain/stray', 'user.overlay.whiteout', '');
  const p = await readLayerDir(l.fd, B('plain'));
  t.false(p.opaque);
  t.deepEqual(p.visible.map((e) => e.name.toString()).sort(), ['.', '..', 'stray'], 'xattr whiteouts count only in a marked directory');

  // the layer root, and names that are not UTF-8
  const odd = Buffer.from([0x66, 0xff]);
  writeFileSync(Buffer.from(`${l.dir}/.wh.${odd.toString('latin1')}`, 'latin1'), '');
  const root = await readLayerDir(l.fd, Buffer.alloc(0));
  t.true(root.hidden.has(nameKey(odd)));
  t.false(root.opaque);
});

test('filterListing on hand-made entries: DT_UNKNOWN is stat-ed, vanished entries are dropped', async (t) => {
  const l = layer(t);
  await l.chardev('wo', 0);
  writeFileSync(l.p('f'), '');
  const e = (name: string, type: number): sys.DirEntry => ({ ino: 1n, type, name: B(name) });
  const r = await filterListing([e('wo', 0), e('f', 0), e('vanished', 2), e('.wh.', 8), e('.wh.z', 8)], { fd: l.fd, dirRel: Buffer.alloc(0) });
  t.deepEqual(r.visible.map((x) => x.name.toString()), ['f']);
  t.deepEqual([...r.hidden].sort(), ['wo', 'z']);
});
