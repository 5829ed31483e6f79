// readahead=KIB (mergerfs's option): set at mount on the mount's own device
// and on each branch's. Checked where the kernel keeps it
// (/sys/class/bdi/MAJ:MIN/read_ahead_kb) and by what it changes: without
// passthrough, a sequential read of the mount comes as fewer, bigger READs.
// The branches are a fresh ext4 on a loop device (a real disk whose setting
// the test may change) and a tmpfs (no device, so skipped with a log line);
// never a directory on the machine's own disk.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, mountBraidfs, type Mounted } from '../../helpers/mount.js';
import { requestCounts, run, waitFor } from '../util.js';

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** MAJ:MIN of what is mounted at `dir` (mountinfo field 3). */
function deviceOf(dir: string): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] === dir) return f[2]!;
  }
  throw new Error(`${dir} is not mounted`);
}

const readaheadOf = (dev: string): number => Number(readFileSync(`/sys/class/bdi/${dev}/read_ahead_kb`, 'utf8'));

test('readahead=1024: set on the mount and on a branch disk, a tmpfs branch skipped with a log line; a sequential read then comes in 1 MiB READs instead of 256 KiB', async (t) => {
  t.timeout(120_000);
  const image = join('/dev/shm', `braidfs-ra-${process.pid}.img`);
  const disk = makeTempDir('braidfs-ra-disk-');
  const mem = makeTempDir('braidfs-ra-mem-');
  const mounts: Mounted[] = [];
  let loop = '';
  t.teardown(async () => {
    for (const m of mounts.reverse()) await m.unmount();
    for (const d of [disk, mem]) spawnSync('umount', [d]); // not mounted yet: a harmless error
    if (loop) spawnSync('losetup', ['-d', loop]);
    rmSync(image, { force: true });
  });
  writeFileSync(image, '');
  sh('truncate', ['-s', '64M', image]);
  loop = sh('losetup', ['-f', '--show', image]);
  sh('mkfs.ext4', ['-q', '-F', loop]);
  sh('mount', [loop, disk]);
  sh('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'braidfs-ra', mem]);
  const diskDev = deviceOf(disk);
  writeFileSync(`/sys/class/bdi/${diskDev}/read_ahead_kb`, '128');
  mkdirSync(join(disk, 'b'));
  const file = join(disk, 'b', 'data');
  writeFileSync(file, Buffer.alloc(16 << 20, 7));

  const common = ['passthrough.io=off', 'cache.files=partial'];
  /** READs a mount makes for one sequential read of the 16 MiB file (a fresh open: partial caching starts empty). */
  const readsFor = async (m: Mounted): Promise<number> => {
    const before = (await requestCounts(m)).get('READ') ?? 0;
    const r = await run('dd', [`if=${m.path('data')}`, 'of=/dev/null', 'bs=1M', 'status=none'], { timeoutMs: 60_000 });
    t.is(r.code, 0, r.stderr);
    return ((await requestCounts(m)).get('READ') ?? 0) - before;
  };

  const plain = await mountBraidfs({ source: `${join(disk, 'b')}:${mem}`, options: common });
  mounts.push(plain);
  const defaultReads = await readsFor(plain);
  t.is(readaheadOf(diskDev), 128, 'without the option the branch disk is left alone');

  const tuned = await mountBraidfs({ source: `${join(disk, 'b')}:${mem}`, options: [...common, 'readahead=1024'] });
  mounts.push(tuned);
  // The daemon sets it after the INIT reply, which may come after the mount
  // shows up; it logs once done.
  t.true(await waitFor(() => /readahead 1024 KiB on the mount/.test(tuned.log()), 10_000), tuned.log());
  t.is(readaheadOf(deviceOf(tuned.mountpoint)), 1024, "the mount's own readahead");
  t.is(readaheadOf(diskDev), 1024, "the branch disk's readahead");
  t.true(await waitFor(() => /readahead: not set for .*braidfs-ra-mem-.*no readahead/.test(tuned.log()), 5000), tuned.log());
  t.is(readaheadOf(deviceOf(plain.mountpoint)), 128, 'another mount keeps its own');
  const tunedReads = await readsFor(tuned);
  t.log(`READs for 16 MiB: ${defaultReads} with the kernel's readahead, ${tunedReads} with readahead=1024`);
  t.true(defaultReads >= 48, 'the kernel default reads in 256 KiB');
  t.true(tunedReads <= 20, 'readahead=1024 reads in 1 MiB');
});

test('readahead: a bad value is a clear error before anything is mounted', async (t) => {
  const r = await run('node', [join(process.cwd(), 'bin', 'braidfs'), '-o', 'readahead=lots', '/nonexistent-a', makeTempDir('braidfs-ra-bad-')], { timeoutMs: 20_000 });
  t.not(r.code, 0);
  t.regex(r.stderr, /readahead/);
});
