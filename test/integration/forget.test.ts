// FORGET / BATCH_FORGET accounting: the daemon keeps one node per file the
// kernel holds, and lets go when the kernel forgets (here: drop_caches makes
// the kernel evict unused dentries and inodes, which sends BATCH_FORGET).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, withMount, type Mounted } from '../helpers/mount.js';

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

/** Makes the kernel forget every unused inode, then waits (up to 5 s) until the daemon holds fewer than 100 nodes; the count then. */
async function dropCachesAndWait(m: Mounted, held: number): Promise<number> {
  writeFileSync('/proc/sys/vm/drop_caches', '2');
  let after = held;
  for (let i = 0; i < 50 && after > 100; i++) {
    await sleep(100);
    after = await nodeCount(m);
  }
  return after;
}

test.serial('nodes follow the kernel: 2000 looked-up files, then drop_caches forgets them', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=0.1', 'cache.attr=0.1'] });
  mkdirSync(m.src('d'));
  for (let i = 0; i < 2000; i++) writeFileSync(m.src('d', `f${i}`), '');
  for (let i = 0; i < 2000; i++) statSync(m.path('d', `f${i}`));
  // Once the names expire, looking them up again is answered by the addon
  // (fuse/served-lookups.ts); those lookups count as well.
  await sleep(150);
  for (let i = 0; i < 2000; i++) statSync(m.path('d', `f${i}`));
  t.true((await addonLookups(m)) >= 1000, 'the second round of lookups was answered in the addon');
  const held = await nodeCount(m);
  t.true(held >= 2000, `nodes after 2000 lookups: ${held}`);

  const after = await dropCachesAndWait(m, held);
  t.true(after < 100, `nodes after the kernel forgot: ${after} (was ${held})`);
  // Everything still works after being forgotten.
  t.is(statSync(m.path('d', 'f1999')).size, 0);
});

test.serial('nodes handed out by listings (READDIRPLUS written by the addon) are counted and forgotten too', async (t) => {
  const a = makeTempDir('braidfs-forget-a-');
  const b = makeTempDir('braidfs-forget-b-');
  for (let d = 0; d < 40; d++) {
    for (const r of [a, b]) mkdirSync(join(r, `d${d}`));
    for (let i = 0; i < 50; i++) writeFileSync(join(i % 2 ? a : b, `d${d}`, `f${i}`), '');
  }
  const m = await withMount(t, { source: `${a}:${b}`, options: ['cache.entry=60', 'cache.attr=60', 'readdirplus=true'] });
  // A listing with attributes per directory: the kernel takes a node for every name.
  for (let d = 0; d < 40; d++) t.is(spawnSync('ls', ['-l', m.path(`d${d}`)]).status, 0);
  const held = await nodeCount(m);
  t.true(held >= 2000, `nodes after listing 2000 names: ${held}`);
  // Listed twice: each name's lookup is counted twice, and both are forgotten.
  for (let d = 0; d < 40; d++) t.is(spawnSync('ls', ['-l', m.path(`d${d}`)]).status, 0);
  const after = await dropCachesAndWait(m, held);
  t.true(after < 100, `nodes after the kernel forgot: ${after} (was ${held})`);
  t.is(statSync(m.path('d39', 'f49')).size, 0);
  t.deepEqual(readdirSync(m.path('d7')).length, 50);
});

/** LOOKUPs the addon answered, from the SIGUSR2 stats. */
async function addonLookups(m: Mounted): Promise<number> {
  const before = m.log().length;
  process.kill(m.pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    const line = /answered in the addon:([^\n]*)\n/.exec(m.log().slice(before));
    if (line) return Number(/LOOKUP=(\d+)/.exec(line[1]!)?.[1] ?? 0);
    await sleep(20);
  }
  throw new Error(`no stats line:\n${m.log()}`);
}

/** The daemon's full-collection count and V8 heap in use, from its SIGUSR2 stats line. */
async function heapStats(m: Mounted): Promise<{ gc: number; heapMiB: number }> {
  const before = (m.log().match(/stats: nodes=/g) ?? []).length;
  process.kill(m.pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    const all = [...m.log().matchAll(/stats: nodes=\d+ .*heap=(\d+)MiB gc=(\d+)/g)];
    if (all.length > before) return { heapMiB: Number(all.at(-1)![1]), gc: Number(all.at(-1)![2]) };
    await sleep(20);
  }
  throw new Error(`no stats line:\n${m.log()}`);
}

test.serial('memory comes back: once 30,000 forgotten nodes go quiet, one full collection returns the heap', async (t) => {
  t.timeout(120_000);
  const m = await withMount(t);
  for (let d = 0; d < 30; d++) {
    mkdirSync(m.src(`d${d}`));
    for (let i = 0; i < 1000; i++) writeFileSync(m.src(`d${d}`, `f${i}`), '');
  }
  for (let d = 0; d < 30; d++) for (let i = 0; i < 1000; i++) statSync(m.path(`d${d}`, `f${i}`));
  const held = await heapStats(m);
  const heldNodes = await nodeCount(m);
  writeFileSync('/proc/sys/vm/drop_caches', '2');
  let now = held;
  for (let i = 0; i < 100 && now.gc === 0; i++) {
    await sleep(100);
    now = await heapStats(m);
  }
  // At least one since mount: ours, or one after another test file's drop_caches forgot our nodes first.
  t.true(now.gc >= 1, `a full collection after the forgets went quiet (gc ${held.gc} → ${now.gc}, ${heldNodes} nodes held)`);
  t.true((await nodeCount(m)) < 100);
  // The nodes lived in the old generation: only a full collection frees them.
  // (RSS is the bench's measure: at this size the allocator's own slack hides it.)
  t.true(now.heapMiB < held.heapMiB, `heap ${now.heapMiB} MiB after, ${held.heapMiB} MiB while held`);
});
