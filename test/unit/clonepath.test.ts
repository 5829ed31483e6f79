// clonepath: a directory chain recreated on another branch keeps mode,
// owner, xattrs and times (set deepest-first so they stick).
import test from 'ava';
import { lstatSync, mkdirSync, rmSync, chownSync, chmodSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { clonePath, prefixes } from '../../src/union/clonepath.js';
import { openPath, closeQuietly } from '../../src/sys/fs.js';
import { makeTempDir } from '../helpers/mount.js';

test('prefixes of a relative path, shortest first', (t) => {
  t.deepEqual(prefixes(Buffer.from('a/b/c')).map(String), ['a', 'a/b', 'a/b/c']);
  t.deepEqual(prefixes(Buffer.from('a')).map(String), ['a']);
  t.deepEqual(prefixes(Buffer.alloc(0)), []);
});

test('clones the missing part of a chain with metadata; existing parts are left alone', async (t) => {
  const from = makeTempDir('braidfs-clone-from-');
  const to = makeTempDir('braidfs-clone-to-');
  t.teardown(() => {
    rmSync(from, { recursive: true, force: true });
    rmSync(to, { recursive: true, force: true });
  });
  mkdirSync(join(from, 'a', 'b', 'c'), { recursive: true });
  writeFileSync(join(from, 'a', 'b', 'file'), 'not copied');
  chownSync(join(from, 'a', 'b'), 1234, 5678);
  chmodSync(join(from, 'a', 'b'), 0o2750);
  chmodSync(join(from, 'a', 'b', 'c'), 0o700);
  spawnSync('setfattr', ['-n', 'user.tag', '-v', 'blue', join(from, 'a', 'b')]);
  utimesSync(join(from, 'a', 'b', 'c'), 111, 222);
  utimesSync(join(from, 'a', 'b'), 333, 444);
  mkdirSync(join(to, 'a'));
  chmodSync(join(to, 'a'), 0o711);

  const f = openPath(Buffer.from(from));
  const d = openPath(Buffer.from(to));
  t.teardown(() => {
    closeQuietly(f);
    closeQuietly(d);
  });
  t.is(await clonePath(f, d, Buffer.from('a/b/c')), 2);
  const b = lstatSync(join(to, 'a', 'b'));
  t.is(b.mode & 0o7777, 0o2750);
  t.is(b.uid, 1234);
  t.is(b.gid, 5678);
  t.is(b.mtimeMs, 444_000, 'the parent keeps its mtime although a child was made in it');
  const c = lstatSync(join(to, 'a', 'b', 'c'));
  t.is(c.mode & 0o7777, 0o700);
  t.is(c.mtimeMs, 222_000);
  t.is(lstatSync(join(to, 'a')).mode & 0o7777, 0o711, 'an existing directory is not touched');
  const x = spawnSync('getfattr', ['--only-values', '-n', 'user.tag', join(to, 'a', 'b')], { encoding: 'utf8' });
  t.is(x.stdout, 'blue');
  t.throws(() => lstatSync(join(to, 'a', 'b', 'file')), { code: 'ENOENT' }, 'only directories are cloned');
  t.is(await clonePath(f, d, Buffer.from('a/b/c')), 0, 'cloning again does nothing');
});

test('a file where a directory should be is ENOTDIR', async (t) => {
  const from = makeTempDir('braidfs-clone-from-');
  const to = makeTempDir('braidfs-clone-to-');
  t.teardown(() => {
    rmSync(from, { recursive: true, force: true });
    rmSync(to, { recursive: true, force: true });
  });
  mkdirSync(join(from, 'a'));
  writeFileSync(join(to, 'a'), 'file');
  const f = openPath(Buffer.from(from));
  const d = openPath(Buffer.from(to));
  t.teardown(() => {
    closeQuietly(f);
    closeQuietly(d);
  });
  await t.throwsAsync(clonePath(f, d, Buffer.from('a')), { code: 'ENOTDIR' });
  await t.throwsAsync(clonePath(f, d, Buffer.from('missing/x')), { code: 'ENOENT' });
});
