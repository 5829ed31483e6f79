// The README's quick-start command runs examples/pool-demo.sh; it must pool
// two branches, show where a new file landed (clonepath made music/ on the
// first branch), and leave a mount that `umount` ends.
import test from 'ava';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { forceUnmount, isMounted, makeTempDir, repoRoot } from '../helpers/mount.js';
import { run } from './util.js';

test('examples/pool-demo.sh pools two branches, shows where a file landed, and umount ends it', async (t) => {
  const demo = makeTempDir('braidfs-demo-');
  const mnt = join(demo, 'pool');
  t.teardown(async () => {
    await forceUnmount(mnt);
    rmSync(demo, { recursive: true, force: true });
  });
  const r = await run(join(repoRoot, 'examples', 'pool-demo.sh'), [], { env: { ...process.env, BRAIDFS_DEMO: demo }, timeoutMs: 30_000 });
  t.is(r.code, 0, r.stderr);
  t.true(isMounted(mnt));
  t.regex(r.stdout, /hello\.txt/);
  t.regex(r.stdout, /song\.txt/);
  // ff puts it on disk1, which gets music/ cloned from disk2.
  t.true(existsSync(join(demo, 'disk1', 'music', 'new.txt')));
  t.regex(r.stdout, new RegExp(`${join(demo, 'disk1', 'music', 'new.txt')}`));
  t.regex(r.stdout, /unmount with: umount /);
  const u = await run('umount', [mnt]);
  t.is(u.code, 0, u.stderr);
  t.false(isMounted(mnt));
});
