// reader=thread, the fallback transport for /dev/fuse (a reader thread instead
// of the event loop's poll): the same requests, big WRITEs included, give the
// same results.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { withMount } from '../helpers/mount.js';

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
