// The notification API (INVAL_ENTRY, INVAL_INODE): with long kernel caches a
// change made behind the mount's back stays invisible, until SIGUSR1 makes
// the daemon tell the kernel to drop what it cached.
import test from 'ava';
import { appendFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { withMount } from '../helpers/mount.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually(check: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

const exists = (p: string): boolean => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

test('SIGUSR1 drops cached attributes and names through kernel notifications', async (t) => {
  const m = await withMount(t, { options: ['cache.attr=120', 'cache.entry=120'] });
  writeFileSync(m.path('f'), 'abc');
  writeFileSync(m.path('moved'), 'x');
  t.is(statSync(m.path('f')).size, 3);
  t.true(exists(m.path('moved')));

  // Behind the mount's back: grow f, rename `moved` away.
  appendFileSync(m.src('f'), 'defg');
  renameSync(m.src('moved'), m.src('elsewhere'));
  await sleep(100);
  // The kernel still answers from its caches: this is what makes the test able to fail.
  t.is(statSync(m.path('f')).size, 3, 'attributes are cached');
  t.true(exists(m.path('moved')), 'the old name is cached');

  process.kill(m.pid, 'SIGUSR1');
  t.true(await eventually(() => statSync(m.path('f')).size === 7), 'INVAL_INODE made the new size visible');
  t.true(await eventually(() => !exists(m.path('moved'))), 'INVAL_ENTRY dropped the stale name');
  t.true(exists(m.path('elsewhere')));
  t.true(await eventually(() => /invalidated \d+ cached names and \d+ cached inodes/.test(m.log())), m.log());
});
