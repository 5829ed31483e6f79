// reader=thread, the fallback transport for /dev/fuse (a reader thread instead
// of the event loop's poll): the same requests, big WRITEs included, give the
// same results.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { withMount } from '../helpers/mount.js';
import { run } from './util.js';

for (const reader of ['loop', 'thread']) {
  test(`reader=${reader}: create, 3 MiB write, read back, list, stat`, async (t) => {
    const m = await withMount(t, { options: [`reader=${reader}`, 'passthrough.io=off'] });
    const data = randomBytes(3 * 1024 * 1024);
    mkdirSync(m.path('d'));
    writeFileSync(m.path('d', 'big'), data);
    for (let i = 0; i < 50; i++) writeFileSync(m.path('d', `f${i}`), `${i}`);
    t.true(readFileSync(m.path('d', 'big')).equals(data));
    t.true(readFileSync(m.src('d', 'big')).equals(data), 'on the branch');
    t.is(readdirSync(m.path('d')).length, 51);
    t.is(statSync(m.path('d', 'f7')).size, 1);
  });
}

// Big WRITEs arrive in one of a few read slots that go back to the reader
// once answered; with more writers than slots the rest are copied. Six
// processes writing 1 MiB blocks at once must each get exactly their own data,
// whether the addon answers the WRITEs or JS does (syscalls=pool: files are
// not handed to the addon, so the slots are used).
for (const [cache, extra] of [['off', []], ['partial', []], ['off', ['syscalls=pool']], ['partial', ['syscalls=pool']]] as const) {
  test(`reader=loop, cache.files=${cache}${extra.length ? `, ${extra.join(',')}` : ''}: six concurrent writers of 1 MiB blocks each get their own data`, async (t) => {
    const m = await withMount(t, { options: ['passthrough.io=off', `cache.files=${cache}`, ...extra] });
    const sources = Array.from({ length: 6 }, (_, i) => {
      const p = m.src(`..`, `${m.source.split('/').pop()}-src${i}`);
      writeFileSync(p, randomBytes(8 * 1024 * 1024));
      return p;
    });
    try {
      const results = await Promise.all(sources.map((src, i) => run('dd', [`if=${src}`, `of=${m.path(`w${i}`)}`, 'bs=1M', 'oflag=direct', 'status=none'], { timeoutMs: 60_000 })));
      for (const r of results) t.is(r.code, 0, r.stderr);
      sources.forEach((src, i) => t.true(readFileSync(m.src(`w${i}`)).equals(readFileSync(src)), `w${i} on the branch`));
    } finally {
      for (const p of sources) rmSync(p, { force: true });
    }
  });
}
