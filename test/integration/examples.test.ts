// The README's quick-start command runs examples/loopback-demo.sh; it must
// mount, show a file written through the mount in the source, and leave a
// mount that `umount` ends.
import test from 'ava';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { forceUnmount, isMounted, makeTempDir, repoRoot } from '../helpers/mount.js';
import { run } from './util.js';

test('examples/loopback-demo.sh mounts a demo tree and umount ends it', async (t) => {
  const demo = makeTempDir('braidfs-demo-');
  const mnt = join(demo, 'mnt');
  t.teardown(async () => {
    await forceUnmount(mnt);
    rmSync(demo, { recursive: true, force: true });
  });
  const r = await run(join(repoRoot, 'examples', 'loopback-demo.sh'), [], { env: { ...process.env, BRAIDFS_DEMO: demo }, timeoutMs: 30_000 });
  t.is(r.code, 0, r.stderr);
  t.true(isMounted(mnt));
  t.true(existsSync(join(demo, 'source', 'created-through-the-mount.txt')));
  t.regex(r.stdout, /hello\.txt/);
  t.regex(r.stdout, /unmount with: umount /);
  const u = await run('umount', [mnt]);
  t.is(u.code, 0, u.stderr);
  t.false(isMounted(mnt));
});
