// braidfs as a system mount type: fstab lines (`mount -T FILE MOUNTPOINT`),
// `mount -t fuse.braidfs` (through the system's mount.fuse3, which runs the
// `braidfs` it finds on a standard PATH) and `mount -t braidfs` (through
// /sbin/mount.braidfs). Both need this checkout installed, so the tests run
// scripts/install.sh first, but only when nothing else is installed there, and
// undo it afterwards (only if the tests installed it).
//
// Each test pools three small tmpfs "disks" <tmp>/disk1..3 (different sizes,
// different files) with the glob `<tmp>/disk*` at <tmp>/pool, checks the
// union, where a new file lands, the policy as `.braidfs` reports it, and that
// `umount` ends the mount and the daemon. Teardown always unmounts (umount,
// umount -l, then SIGKILL of the daemon) and removes the disks.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { braidfsBin, isMounted, repoRoot } from '../helpers/mount.js';
import { run, waitFor, type RunResult } from './util.js';
import { ACQUIRE, RELEASE, installStep } from '../helpers/system-install.js';
import { mountsUnder, pidsMentioning, running } from '../helpers/procs.js';

// ---- installing this checkout: test/helpers/system-install.ts ----------------

test.before(() => {
  const r = installStep(ACQUIRE);
  if (!r.ok) {
    throw new Error(
      `cannot install this checkout for the fstab tests (scripts/install.sh): ${r.message}. ` +
        'The tests install only where /usr/local/bin/braidfs and /sbin/mount.braidfs are absent or already link into this checkout.',
    );
  }
});

test.after.always(() => {
  const r = installStep(RELEASE);
  if (!r.ok) console.error(`fstab tests: scripts/install.sh --uninstall failed: ${r.message}`);
});

// ---- fixture: three tmpfs disks and a pool mountpoint --------------------------

interface Disks {
  base: string;
  /** disk1..disk3; sizes 16M, 24M, 8M so ff, mfs and lfs each pick a different disk. */
  disks: string[];
  pool: string;
  glob: string;
}

const SIZES_MIB = [16, 24, 8];

function makeDisks(t: ExecutionContext): Disks {
  const base = mkdtempSync(join(tmpdir(), 'braidfs-fstab-'));
  const disks = SIZES_MIB.map((_, i) => join(base, `disk${i + 1}`));
  const pool = join(base, 'pool');
  mkdirSync(pool);
  t.teardown(() => teardownDisks({ base, disks, pool, glob: '' }));
  SIZES_MIB.forEach((size, i) => {
    const d = disks[i]!;
    mkdirSync(d);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}m`, 'tmpfs', d], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount -t tmpfs ${d}: ${r.stderr}`);
    writeFileSync(join(d, `only-on-disk${i + 1}.txt`), `disk${i + 1}\n`);
    mkdirSync(join(d, 'media'));
    writeFileSync(join(d, 'media', `movie${i + 1}.mkv`), 'x'.repeat(1000 * (i + 1)));
  });
  return { base, disks, pool, glob: join(base, 'disk*') };
}

/**
 * Unmounts the pools (umount, then umount -l, then SIGKILL of whatever still
 * names the temp dir: daemon, or a mount helper that never returned), then the
 * disks, and removes the temp dir. Every command has a time limit, and nothing
 * here touches a file below a FUSE mount, so a hung daemon cannot hang this.
 */
async function teardownDisks(fx: Disks): Promise<void> {
  const pids = pidsMentioning(fx.base);
  for (const pool of [fx.pool, `${fx.pool}2`]) {
    if (isMounted(pool)) await run('umount', [pool], { timeoutMs: 5000 });
    if (isMounted(pool)) await run('umount', ['-l', pool], { timeoutMs: 5000 });
  }
  await waitFor(() => !pids.some(running), 1000);
  for (const pid of pidsMentioning(fx.base)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (const mp of mountsUnder(fx.base)) {
    if ((await run('umount', [mp], { timeoutMs: 5000 })).code !== 0) await run('umount', ['-l', mp], { timeoutMs: 5000 });
  }
  if (mountsUnder(fx.base).length === 0) rmSync(fx.base, { recursive: true, force: true });
}

const show = (r: RunResult): string => `exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

async function getOption(pool: string, name: string): Promise<string> {
  const r = await run('getfattr', ['--only-values', '-n', `user.braidfs.${name}`, join(pool, '.braidfs')], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`getfattr user.braidfs.${name}: ${show(r)}`);
  return r.stdout.trim();
}

/**
 * The mount at `pool` (already made) is the union of the disks, a new file
 * lands on disk number `lands` (1-based) under `policy`, and `umount` ends the
 * mount and its daemon.
 */
async function checkPoolThenUnmount(t: ExecutionContext, fx: Disks, pool: string, policy: string, lands: number): Promise<void> {
  t.true(isMounted(pool), `${pool} is not a FUSE mount`);
  // fs/promises below the mount: a daemon that stops answering must not block the event loop (and the timeout).
  const top = (await readdir(pool)).sort();
  t.deepEqual(top, ['media', 'only-on-disk1.txt', 'only-on-disk2.txt', 'only-on-disk3.txt'], 'the union of every disk');
  t.deepEqual((await readdir(join(pool, 'media'))).sort(), ['movie1.mkv', 'movie2.mkv', 'movie3.mkv']);
  t.is(await readFile(join(pool, 'only-on-disk2.txt'), 'utf8'), 'disk2\n');

  t.is(await getOption(pool, 'category.create'), policy);
  await writeFile(join(pool, 'media', 'new.mkv'), 'new\n');
  const holders = fx.disks.map((d, i) => (existsSync(join(d, 'media', 'new.mkv')) ? i + 1 : 0)).filter((i) => i > 0);
  t.deepEqual(holders, [lands], `with ${policy} the new file belongs on disk${lands} (sizes ${SIZES_MIB.join('M, ')}M)`);

  const daemons = pidsMentioning(pool);
  t.true(daemons.length > 0, `no process has ${pool} on its command line`);
  const u = await run('umount', [pool], { timeoutMs: 10_000 });
  t.is(u.code, 0, show(u));
  t.false(isMounted(pool), 'still mounted after umount');
  t.true(await waitFor(() => !daemons.some(running), 5000), 'the daemon is still running 5 s after umount');
}

// ---- the tests -----------------------------------------------------------------

test.serial('mount -T FSTAB: a fuse.braidfs line pools disk* with mfs; umount ends the daemon', async (t) => {
  t.timeout(60_000);
  const fx = makeDisks(t);
  const fstab = join(fx.base, 'fstab');
  writeFileSync(fstab, `# test fstab\n${fx.glob}  ${fx.pool}  fuse.braidfs  defaults,allow_other,category.create=mfs,minfreespace=1M,nofail  0 0\n`);
  const r = await run('mount', ['-T', fstab, fx.pool], { timeoutMs: 20_000 });
  t.is(r.code, 0, show(r));
  if (r.code !== 0) return;
  await checkPoolThenUnmount(t, fx, fx.pool, 'mfs', 2);
});

test.serial("mount -t fuse.braidfs 'disk*' POOL -o category.create=ff goes through mount.fuse3", async (t) => {
  t.timeout(60_000);
  const fx = makeDisks(t);
  const r = await run('mount', ['-t', 'fuse.braidfs', fx.glob, fx.pool, '-o', 'category.create=ff,minfreespace=1M'], { timeoutMs: 20_000 });
  t.is(r.code, 0, show(r));
  if (r.code !== 0) return;
  await checkPoolThenUnmount(t, fx, fx.pool, 'ff', 1);
});

test.serial("mount -t braidfs 'disk*' POOL goes through /sbin/mount.braidfs", async (t) => {
  t.is(spawnSync('readlink', ['-f', '/sbin/mount.braidfs'], { encoding: 'utf8' }).stdout.trim(), join(repoRoot, 'bin', 'mount.braidfs'));
  t.timeout(60_000);
  const fx = makeDisks(t);
  const r = await run('mount', ['-t', 'braidfs', fx.glob, fx.pool, '-o', 'category.create=lfs,minfreespace=1M'], { timeoutMs: 20_000 });
  t.is(r.code, 0, show(r));
  if (r.code !== 0) return;
  await checkPoolThenUnmount(t, fx, fx.pool, 'lfs', 3);
});

test.serial('fstab-only words (noauto, _netdev, user, users, x-systemd.*, comment=) are ignored', async (t) => {
  t.timeout(60_000);
  const fx = makeDisks(t);
  const pool2 = `${fx.pool}2`;
  mkdirSync(pool2);
  const words = 'noauto,_netdev,user,users,x-systemd.requires=foo.mount,comment=hi';
  const fstab = join(fx.base, 'fstab');
  // libmount consumes some words itself for fuse.braidfs; the type braidfs
  // hands mount.braidfs (and so braidfs) what is left, e.g. _netdev,user,users.
  writeFileSync(
    fstab,
    `${fx.glob}  ${fx.pool}  fuse.braidfs  ${words},minfreespace=1M,category.create=mfs  0 0\n` +
      `${fx.glob}  ${pool2}  braidfs  defaults,${words},nofail,minfreespace=1M,category.create=mfs  0 0\n`,
  );
  for (const pool of [fx.pool, pool2]) {
    const r = await run('mount', ['-T', fstab, pool], { timeoutMs: 20_000 });
    t.is(r.code, 0, `${pool}: ${show(r)}`);
    if (r.code !== 0) return;
    await checkPoolThenUnmount(t, fx, pool, 'mfs', 2);
    rmSync(join(fx.disks[1]!, 'media', 'new.mkv'));
  }
  // braidfs itself, given every fstab-only word directly.
  const direct = await run(
    braidfsBin,
    [fx.glob, fx.pool, '-o', `defaults,auto,noauto,nofail,_netdev,user,users,x-systemd.automount,x-systemd.requires=foo.mount,comment=hi,minfreespace=1M,category.create=mfs`],
    { timeoutMs: 20_000 },
  );
  t.is(direct.code, 0, show(direct));
  if (direct.code !== 0) return;
  await checkPoolThenUnmount(t, fx, fx.pool, 'mfs', 2);
});

test.serial('-o config=FILE in an fstab line reads options from the file', async (t) => {
  t.timeout(60_000);
  const fx = makeDisks(t);
  const conf = join(fx.base, 'pool.conf');
  writeFileSync(conf, '# braidfs options for the test pool\ncategory.create = lfs\n\nminfreespace=1M\n');
  const fstab = join(fx.base, 'fstab');
  writeFileSync(fstab, `${fx.glob}  ${fx.pool}  fuse.braidfs  defaults,allow_other,config=${conf},nofail  0 0\n`);
  const r = await run('mount', ['-T', fstab, fx.pool], { timeoutMs: 20_000 });
  t.is(r.code, 0, show(r));
  if (r.code !== 0) return;
  t.is(await getOption(fx.pool, 'minfreespace'), '1M');
  await checkPoolThenUnmount(t, fx, fx.pool, 'lfs', 3);
});
