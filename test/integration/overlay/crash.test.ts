// A daemon killed in the middle of a copy-up leaves nothing partial under
// a real name: the half-copied file sits in WORKDIR/work only, the merged
// view still shows the lower file whole, and the next mount removes the
// leftover.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../helpers/mount.js';
import { mountOverlay, type OverlayLayout } from '../../helpers/overlay.js';
import { sleep } from '../util.js';

const MiB = 1024 * 1024;

test.serial('SIGKILL mid copy-up: no partial file in upper, lower intact, leftover removed at the next mount', async (t) => {
  // tmpfs: no reflinks, so the copy takes long enough to be caught midway.
  const base = makeTempDir('braidfs-ovlcrash-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3g', 'braidfs-ovlcrash', base]);
  t.is(r.status, 0, r.stderr?.toString());
  const mounts: Array<() => Promise<void>> = [];
  t.teardown(async () => {
    for (const u of mounts.reverse()) await u();
    spawnSync('umount', ['-l', base]);
    rmSync(base, { recursive: true, force: true });
  });
  const layout: OverlayLayout = { lowers: [join(base, 'lower')], upper: join(base, 'upper'), work: join(base, 'work') };
  for (const d of [...layout.lowers, layout.upper!, layout.work!]) mkdirSync(d);
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(i * 2654435761 >>> 0, i);
  const big = join(layout.lowers[0]!, 'big');
  for (let i = 0; i < 1024; i++) appendFileSync(big, block);
  const size = statSync(big).size;

  const m = await mountOverlay(layout);
  mounts.push(() => m.unmount());
  const writer = spawn('sh', ['-c', `echo x >> ${m.path('big')}`], { stdio: 'ignore' });
  writer.on('error', () => undefined);
  const scratch = join(layout.work!, 'work');
  let caught = false;
  for (let i = 0; i < 2000 && !caught; i++) {
    caught = existsSync(scratch) && readdirSync(scratch).length > 0;
    if (!caught) await sleep(2);
  }
  t.true(caught, 'a copy-up temp file appeared in WORKDIR/work');
  m.child!.kill('SIGKILL');
  await m.unmount();
  writer.kill('SIGKILL');

  t.false(existsSync(join(layout.upper!, 'big')), 'nothing under the real name in upper');
  t.true(readdirSync(scratch).length > 0, 'the partial copy is only in the scratch dir');
  t.is(statSync(big).size, size, 'lower untouched');

  const again = await mountOverlay(layout);
  mounts.push(() => again.unmount());
  t.deepEqual(readdirSync(scratch), [], 'leftovers removed at mount');
  t.is(statSync(again.path('big')).size, size, 'the merged view shows the whole lower file');
  t.deepEqual(readdirSync(again.path()), ['big']);
  appendFileSync(again.path('big'), 'y');
  t.is(statSync(join(layout.upper!, 'big')).size, size + 1, 'a later copy-up completes');
  t.is(readFileSync(again.path('big')).subarray(0, MiB).compare(block), 0);
  writeFileSync(join(base, 'done'), '');
});
