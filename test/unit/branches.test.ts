// BranchSet: opening branch roots, what policies are told about them, and
// the path probe. Uses small tmpfs mounts of known size and a read-only one.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { BranchSet } from '../../src/union/branches.js';
import { makeTempDir } from '../helpers/mount.js';

const root = makeTempDir('braidfs-branches-');
const small = join(root, 'small');
const big = join(root, 'big');
const ro = join(root, 'ro');

test.before(() => {
  for (const d of [small, big, ro]) mkdirSync(d);
  spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
  spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', big]);
  spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', ro]);
});

test.after.always(() => {
  for (const d of [small, big, ro]) spawnSync('umount', ['-l', d]);
  rmSync(root, { recursive: true, force: true });
});

test('candidates report mode, minfreespace, free space and read-only filesystems', async (t) => {
  const set = BranchSet.open(
    [
      { path: small, mode: 'RW', minFreeSpace: undefined },
      { path: big, mode: 'NC', minFreeSpace: 1024 },
      { path: ro, mode: 'RW', minFreeSpace: undefined },
    ],
    4096,
  );
  t.teardown(() => set.close());
  const [a, b, c] = await set.candidates();
  t.is(a!.mode, 'RW');
  t.is(a!.minFreeSpace, 4096, 'global minfreespace applies by default');
  t.is(b!.minFreeSpace, 1024, 'per-branch minfreespace wins');
  t.is(b!.mode, 'NC');
  t.true(Math.abs(a!.spaceAvail - 4 * 2 ** 20) < 64 * 1024, `small: ${a!.spaceAvail}`);
  t.true(Math.abs(b!.spaceAvail - 16 * 2 ** 20) < 64 * 1024, `big: ${b!.spaceAvail}`);
  t.false(a!.readOnlyFs);
  t.true(c!.readOnlyFs);
  t.deepEqual([a!.index, b!.index, c!.index], [0, 1, 2]);
});

test('free space is cached for the ttl and re-read after it', async (t) => {
  const set = BranchSet.open([{ path: small, mode: 'RW', minFreeSpace: undefined }], 0);
  t.teardown(() => {
    set.close();
    rmSync(join(small, 'fill'), { force: true });
  });
  const before = (await set.candidates(60_000))[0]!.spaceAvail;
  writeFileSync(join(small, 'fill'), Buffer.alloc(2 * 2 ** 20));
  t.is((await set.candidates(60_000))[0]!.spaceAvail, before, 'cached');
  const fresh = (await set.candidates(0))[0]!.spaceAvail;
  t.true(before - fresh >= 2 * 2 ** 20 - 64 * 1024, `used space shows: ${before} → ${fresh}`);
});

test('the probe answers existence and mtime beneath each root, bytes for names', async (t) => {
  const odd = Buffer.from([0x6e, 0xff, 0x2e]);
  mkdirSync(join(big, 'dir'));
  writeFileSync(Buffer.concat([Buffer.from(join(big, 'dir') + '/'), odd]), 'x');
  utimesSync(join(big, 'dir'), 1000, 1000);
  const set = BranchSet.open(
    [
      { path: small, mode: 'RW', minFreeSpace: undefined },
      { path: big, mode: 'RW', minFreeSpace: undefined },
    ],
    0,
  );
  t.teardown(() => {
    set.close();
    rmSync(join(big, 'dir'), { recursive: true, force: true });
  });
  const [a, b] = await set.candidates();
  const probe = set.probe();
  t.false(await probe.exists(a!, Buffer.from('dir')));
  t.true(await probe.exists(b!, Buffer.from('dir')));
  t.true(await probe.exists(b!, Buffer.concat([Buffer.from('dir/'), odd])));
  t.true(await probe.exists(b!, Buffer.alloc(0)), 'the root always exists');
  t.is(await probe.mtime(b!, Buffer.from('dir')), 1000 * 1e9);
  t.is(await probe.mtime(a!, Buffer.from('dir')), undefined);
});

test('a missing branch is an error naming it, and nothing stays open', (t) => {
  const missing = join(root, 'nope');
  const err = t.throws(() => BranchSet.open([{ path: small, mode: 'RW', minFreeSpace: undefined }, { path: missing, mode: 'RW', minFreeSpace: undefined }], 0));
  t.regex(String(err?.message), /ENOENT/);
  t.regex(String(err?.message), /nope/);
});
