// statfs over the pool (base, full, statfs_ignore) and inode numbers that
// are stable across remounts (inodecalc), on tmpfs branches of known size.
import test from 'ava';
import { mkdirSync, statfsSync, statSync, writeFileSync, linkSync } from 'node:fs';
import { MiB, makeBranches, mountBraidfs } from './fixture.js';

const total = (p: string): number => {
  const s = statfsSync(p);
  return s.blocks * s.bsize;
};
const avail = (p: string): number => {
  const s = statfsSync(p);
  return s.bavail * s.bsize;
};
const near = (a: number, b: number): boolean => Math.abs(a - b) <= MiB / 2;

test('statfs=base sums every branch once; statfs_ignore=ro leaves RO free space out', async (t) => {
  const fx = makeBranches(t, [
    { name: 'a', size: 8 },
    { name: 'b', size: 16 },
    { name: 'ro', size: 32, mode: 'RO' },
  ]);
  const m = await mountBraidfs(t, fx, ['minfreespace=1M']);
  t.true(near(total(m.mountpoint), 56 * MiB), `total ${total(m.mountpoint)}`);
  t.true(near(avail(m.mountpoint), 56 * MiB), `avail ${avail(m.mountpoint)}`);
  const m2 = await mountBraidfs(t, fx, ['minfreespace=1M', 'statfs_ignore=ro']);
  t.true(near(total(m2.mountpoint), 56 * MiB), 'the RO branch still counts in the size');
  t.true(near(avail(m2.mountpoint), 24 * MiB), `avail without the RO branch: ${avail(m2.mountpoint)}`);
});

test('statfs=full counts only the branches that hold the path', async (t) => {
  const fx = makeBranches(t, [
    { name: 'a', size: 8 },
    { name: 'b', size: 16 },
  ]);
  mkdirSync(fx.at('b', 'only-on-b'));
  const m = await mountBraidfs(t, fx, ['minfreespace=1M', 'statfs=full']);
  t.true(near(total(m.mountpoint), 24 * MiB), 'the root is on both');
  t.true(near(total(m.path('only-on-b')), 16 * MiB), `only-on-b: ${total(m.path('only-on-b'))}`);
});

test('st_ino is the same after a remount (hybrid-hash and path-hash), and hard links share it', async (t) => {
  const fx = makeBranches(t, [
    { name: 'a', size: 8 },
    { name: 'b', size: 8 },
  ]);
  mkdirSync(fx.at('a', 'dir'));
  writeFileSync(fx.at('b', 'file'), 'x');
  linkSync(fx.at('b', 'file'), fx.at('b', 'link'));
  for (const mode of ['hybrid-hash', 'path-hash', 'devino-hash32']) {
    const first = await mountBraidfs(t, fx, ['minfreespace=1M', `inodecalc=${mode}`]);
    const before = ['dir', 'file', 'link'].map((n) => statSync(first.path(n)).ino);
    await first.unmount();
    const again = await mountBraidfs(t, fx, ['minfreespace=1M', `inodecalc=${mode}`]);
    const after = ['dir', 'file', 'link'].map((n) => statSync(again.path(n)).ino);
    t.deepEqual(after, before, mode);
    if (mode !== 'path-hash') t.is(before[1], before[2], `${mode}: hard links share st_ino`);
    else t.not(before[1], before[2], 'path-hash: each name its own number (mergerfs)');
    await again.unmount();
  }
});
