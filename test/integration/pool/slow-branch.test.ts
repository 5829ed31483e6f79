// No head-of-line blocking: a branch that stops answering (here a FUSE
// branch whose daemon is SIGSTOPped, as a hung network mount or a disk
// spinning up would) must not stall requests that only need the other
// branches. syscalls=auto sends a FUSE/network branch's syscalls to the
// thread pool; with syscalls=inline the same scenario stalls everything,
// which shows the test can fail.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, withMount } from '../../helpers/mount.js';
import { waitFor } from '../util.js';

/** Runs `stat` and `cat` on `paths` in a child; resolves 'done' or 'stalled' after `ms`. */
function probe(paths: string[], ms: number): Promise<'done' | 'stalled'> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', paths.map((p) => `stat -c %s '${p}' >/dev/null && cat '${p}' >/dev/null`).join(' && ')], { stdio: 'ignore', detached: true });
    const timer = setTimeout(() => {
      resolve('stalled');
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? 'done' : 'stalled');
    });
  });
}

async function scenario(t: Parameters<typeof withMount>[0], syscalls: 'auto' | 'inline'): Promise<'done' | 'stalled'> {
  const a = makeTempDir('braidfs-slow-a-');
  const bSrc = makeTempDir('braidfs-slow-bsrc-');
  mkdirSync(join(a, 'dir'));
  for (let i = 0; i < 20; i++) writeFileSync(join(a, 'dir', `f${i}`), `file ${i}`);
  writeFileSync(join(bSrc, 'on-b'), 'b');
  // Branch b is itself a FUSE mount: a daemon we can freeze.
  const b = await withMount(t, { source: bSrc });
  const pool = await withMount(t, { source: `${a}:${b.mountpoint}`, options: [`syscalls=${syscalls}`, 'cache.attr=0', 'cache.entry=0', 'cache.statfs=0'] });
  if (syscalls === 'auto') {
    await waitFor(() => /syscalls run on the thread pool/.test(pool.log()), 3000);
    t.regex(pool.log(), /fuse filesystem\): its syscalls run on the thread pool/);
  }
  t.is(await probe([pool.path('dir', 'f0')], 5000), 'done', 'works while both branches answer');
  process.kill(b.pid, 'SIGSTOP');
  t.teardown(() => void process.kill(b.pid, 'SIGCONT'));
  try {
    // Past the 1 s during which search policies reuse free-space figures.
    await new Promise((r) => setTimeout(r, 1500));
    return await probe(
      Array.from({ length: 20 }, (_, i) => pool.path('dir', `f${i}`)),
      5000,
    );
  } finally {
    process.kill(b.pid, 'SIGCONT');
  }
}

test.serial('syscalls=auto: files on the other branch stay reachable while a FUSE branch is frozen', async (t) => {
  t.is(await scenario(t, 'auto'), 'done');
});

test.serial('control: with syscalls=inline the frozen branch stalls everything', async (t) => {
  t.is(await scenario(t, 'inline'), 'stalled');
});
