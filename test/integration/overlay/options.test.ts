// fuse-overlayfs's options as braidfs takes them: id mapping and squashing,
// static_nlink, fsync=0/volatile, timeout, unknown options (a warning, never
// a failure), --version, and clear refusals (workdir on another filesystem,
// missing lowerdir).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chownSync, fsyncSync, lstatSync, mkdirSync, openSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { braidfsBin, isMounted, makeTempDir } from '../../helpers/mount.js';
import { makeLayers, overlayOptionList, withOverlay } from '../../helpers/overlay.js';

function layers(t: Parameters<typeof withOverlay>[0]): ReturnType<typeof makeLayers> {
  const l = makeLayers(1);
  t.teardown(() => rmSync(l.base, { recursive: true, force: true }));
  writeFileSync(join(l.lowers[0]!, 'owned'), 'x');
  chownSync(join(l.lowers[0]!, 'owned'), 1000, 1000);
  writeFileSync(join(l.lowers[0]!, 'stranger'), 'x');
  chownSync(join(l.lowers[0]!, 'stranger'), 5000, 5000);
  mkdirSync(join(l.lowers[0]!, 'd', 'sub1'), { recursive: true });
  mkdirSync(join(l.lowers[0]!, 'd', 'sub2'));
  return l;
}

test.serial('uidmapping/gidmapping shift owners both ways; ids outside every range show as 65534', async (t) => {
  const l = layers(t);
  const m = await withOverlay(t, l, { options: ['uidmapping=0:100000:65536', 'gidmapping=0:200000:65536'] });
  const st = statSync(m.path('owned'));
  t.deepEqual([st.uid, st.gid], [101000, 201000]);
  // chown to a shown id stores the inside id in the upper layer.
  chownSync(m.path('owned'), 100007, 200009);
  const up = lstatSync(join(l.upper!, 'owned'));
  t.deepEqual([up.uid, up.gid], [7, 9]);
  t.deepEqual([statSync(m.path('owned')).uid, statSync(m.path('owned')).gid], [100007, 200009]);
  // A new file made by root (outside id 0 is not mapped back into the range): stored as the overflow id.
  writeFileSync(m.path('new'), 'y');
  t.is(lstatSync(join(l.upper!, 'new')).uid, 65534);
});

test.serial('squash_to_root shows every file as 0:0 and accepts chown without doing it', async (t) => {
  const l = layers(t);
  const m = await withOverlay(t, l, { options: ['squash_to_root'] });
  const st = statSync(m.path('stranger'));
  t.deepEqual([st.uid, st.gid], [0, 0]);
  chownSync(m.path('stranger'), 42, 42);
  t.deepEqual([statSync(m.path('stranger')).uid, statSync(m.path('stranger')).gid], [0, 0]);
});

test.serial('squash_to_uid/squash_to_gid take precedence over squash_to_root', async (t) => {
  const l = layers(t);
  const m = await withOverlay(t, l, { options: ['squash_to_root', 'squash_to_uid=1234', 'squash_to_gid=4321'] });
  const st = statSync(m.path('owned'));
  t.deepEqual([st.uid, st.gid], [1234, 4321]);
});

test.serial('static_nlink: directories report one link; without it, 2 plus subdirectories', async (t) => {
  const l = layers(t);
  const plain = await withOverlay(t, l);
  t.is(statSync(plain.path('d')).nlink, 4);
  await plain.unmount();
  const m = await withOverlay(t, l, { options: ['static_nlink'] });
  t.is(statSync(m.path('d')).nlink, 1);
});

test.serial('volatile and fsync=0 are accepted and make fsync succeed; unknown options only warn', async (t) => {
  const l = layers(t);
  const m = await withOverlay(t, l, { options: ['volatile', 'fsync=0', 'frobnicate=1', 'threaded=1', 'noacl', 'timeout=2.5'] });
  const fd = openSync(m.path('owned'), 'r+');
  t.notThrows(() => fsyncSync(fd));
  closeSync(fd);
  t.regex(m.log(), /unknown argument ignored: frobnicate=1/);
  t.notRegex(m.log(), /unknown argument ignored: (volatile|threaded|noacl|timeout)/);
});

test('--version prints the version and the FUSE protocol, even with overlay options', (t) => {
  for (const argv of [['--version'], ['-o', 'lowerdir=/nonexistent', '--version', '/mnt']]) {
    const r = spawnSync(braidfsBin, argv, { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /^braidfs \d+\.\d+\.\d+\nFUSE protocol 7\.\d+\n$/);
  }
});

test('bad overlay command lines fail with one clear line and no mount', (t) => {
  const l = makeLayers(1);
  t.teardown(() => rmSync(l.base, { recursive: true, force: true }));
  const mp = makeTempDir('braidfs-ovlbad-');
  t.teardown(() => rmSync(mp, { recursive: true, force: true }));
  const tmpfs = makeTempDir('braidfs-ovlbadfs-');
  t.is(spawnSync('mount', ['-t', 'tmpfs', 'x', tmpfs]).status, 0);
  t.teardown(() => void spawnSync('umount', ['-l', tmpfs]));
  const cases: Array<[string[], RegExp]> = [
    [['-o', `upperdir=${l.upper},workdir=${l.work}`, mp], /lowerdir is required/],
    [['-o', `lowerdir=${l.lowers[0]},upperdir=${l.upper}`, mp], /needs option workdir/],
    [['-o', `lowerdir=${l.lowers[0]},upperdir=${l.upper},workdir=${tmpfs}`, mp], /same filesystem/],
    [['-o', `lowerdir=${join(l.base, 'missing')}`, mp], /missing' is not accessible/],
    [['-o', `lowerdir=${l.lowers[0]},redirect_dir=on`, mp], /redirect_dir=off/],
  ];
  for (const [argv, re] of cases) {
    const r = spawnSync(braidfsBin, argv, { encoding: 'utf8', timeout: 20000 });
    t.not(r.status, 0, argv.join(' '));
    const lines = r.stderr.trim().split('\n').filter((s) => !s.startsWith('braidfs: unknown argument'));
    t.is(lines.length, 1, r.stderr);
    t.regex(r.stderr, re);
    t.false(isMounted(mp));
  }
});

test.serial('without upperdir the mount is read-only: EROFS on every change, reads work', async (t) => {
  const l = makeLayers(2, { readOnly: true });
  t.teardown(() => rmSync(l.base, { recursive: true, force: true }));
  writeFileSync(join(l.lowers[1]!, 'f'), 'data');
  const m = await withOverlay(t, l);
  t.is(statSync(m.path('f')).size, 4);
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code;
    }
  };
  t.is(code(() => writeFileSync(m.path('g'), 'x')), 'EROFS');
  t.is(code(() => writeFileSync(m.path('f'), 'x')), 'EROFS');
  t.is(code(() => mkdirSync(m.path('d'))), 'EROFS');
  t.is(code(() => rmSync(m.path('f'))), 'EROFS');
  t.deepEqual(overlayOptionList(l), [`lowerdir=${l.lowers.join(':')}`]);
});

test.serial('xattr_permissions=2: owner and mode come from user.containers.override_stat, chmod/chown write it, copy-up keeps it', async (t) => {
  const l = layers(t);
  const f = join(l.lowers[0]!, 'owned');
  t.is(spawnSync('setfattr', ['-n', 'user.containers.override_stat', '-v', '1000:1001:0640', f]).status, 0);
  const m = await withOverlay(t, l, { options: ['xattr_permissions=2'] });
  const st = statSync(m.path('owned'));
  t.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1000, 1001, 0o640]);
  chownSync(m.path('owned'), 7, 8);
  const up = join(l.upper!, 'owned');
  t.is(spawnSync('getfattr', ['--only-values', '-n', 'user.containers.override_stat', up], { encoding: 'utf8' }).stdout, '7:8:0640');
  t.deepEqual([lstatSync(up).uid, lstatSync(up).gid], [1000, 1000], 'the file on disk keeps its real owner');
  const listed = spawnSync('getfattr', ['-d', '-m', '-', m.path('owned')], { encoding: 'utf8' }).stdout;
  t.notRegex(listed, /override_stat/, 'private: not listed through the mount');
  writeFileSync(m.path('fresh'), 'x', { mode: 0o600 });
  t.regex(spawnSync('getfattr', ['--only-values', '-n', 'user.containers.override_stat', join(l.upper!, 'fresh')], { encoding: 'utf8' }).stdout, /^0:0:0600$/);
  t.is(statSync(m.path('fresh')).mode & 0o7777, 0o600);
});

test.serial('noxattrs=1: xattr calls are refused; the files themselves still work', async (t) => {
  const l = layers(t);
  const m = await withOverlay(t, l, { options: ['noxattrs=1'] });
  const r = spawnSync('getfattr', ['-n', 'user.x', m.path('owned')], { encoding: 'utf8' });
  t.not(r.status, 0);
  t.regex(r.stderr, /not supported/i);
  t.is(statSync(m.path('owned')).size, 1);
});

test.serial("braidfs's own options work on the overlay command line (no warning), readable through /.braidfs", async (t) => {
  const l = layers(t);
  const m = await withOverlay(t, l, { options: ['passthrough.io=off', 'cache.attr=3'] });
  const get = (name: string): string => spawnSync('getfattr', ['--only-values', '-n', `user.braidfs.${name}`, m.path('.braidfs')], { encoding: 'utf8' }).stdout;
  t.is(get('passthrough.io'), 'off');
  t.is(get('cache.attr'), '3');
  t.notRegex(m.log(), /unknown argument ignored/);
});
