// FORGET / BATCH_FORGET accounting: the daemon keeps one node per file the
// kernel holds, and lets go when the kernel forgets (here: drop_caches makes
// the kernel evict unused dentries and inodes, which sends BATCH_FORGET).
import test from 'ava';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { withMount, type Mounted } from '../helpers/mount.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function nodeCount(m: Mounted): Promise<number> {
  const before = (m.log().match(/stats: nodes=/g) ?? []).length;
  process.kill(m.pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    const all = [...m.log().matchAll(/stats: nodes=(\d+)/g)];
    if (all.length > before) return Number(all.at(-1)![1]);
    await sleep(20);
  }
  throw new Error(`no stats line:\n${m.log()}`);
}

test('nodes follow the kernel: 2000 looked-up files, then drop_caches forgets them', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=0.1', 'cache.attr=0.1'] });
  mkdirSync(m.src('d'));
  for (let i = 0; i < 2000; i++) writeFileSync(m.src('d', `f${i}`), '');
  for (let i = 0; i < 2000; i++) statSync(m.path('d', `f${i}`));
  const held = await nodeCount(m);
  t.true(held >= 2000, `nodes after 2000 lookups: ${held}`);

  writeFileSync('/proc/sys/vm/drop_caches', '2');
  let after = held;
  for (let i = 0; i < 50 && after > 100; i++) {
    await sleep(100);
    after = await nodeCount(m);
  }
  t.true(after < 100, `nodes after the kernel forgot: ${after} (was ${held})`);
  // Everything still works after being forgotten.
  t.is(statSync(m.path('d', 'f1999')).size, 0);
});
