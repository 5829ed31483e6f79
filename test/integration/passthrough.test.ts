// As root on a kernel with FUSE passthrough, file data never reaches the
// daemon: a 4 MiB write, a full read and a pwrite produce zero READ and zero
// WRITE requests, yet the data round-trips. The control run with
// `-o passthrough.io=off` proves the counting would catch them.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { withMount, type Mounted } from '../helpers/mount.js';
import { parseTrace, passthroughFallbackLines, sha256, sleep } from './util.js';

const SIZE = 4 * 1024 * 1024;
const CHUNK = 256 * 1024;
const PATCH_AT = 1024 * 1024 + 123;
const PATCH_LEN = 64 * 1024;

interface Counts {
  openNodes: string[];
  openResults: string[];
  readsOnFile: number;
  writesOnFile: number;
  readsTotal: number;
  writesTotal: number;
}

/** Waits until the daemon's stderr stops growing (RELEASE is sent asynchronously). */
async function settle(m: Mounted): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50 && m.log().length !== last; i++) {
    last = m.log().length;
    await sleep(200);
  }
}

async function workload(t: ExecutionContext, m: Mounted): Promise<void> {
  const data = randomBytes(SIZE);
  const file = m.path('big.bin');

  // 1. create + write 4 MiB in chunks, close.
  const w = await open(file, 'w');
  for (let off = 0; off < SIZE; off += CHUNK) await w.write(data, off, CHUNK, off);
  await w.close();

  // Clean page cache so the read below cannot be served from it.
  await writeFile('/proc/sys/vm/drop_caches', '1').catch(() => undefined);

  // 2. open, read fully, compare.
  const r = await open(file, 'r');
  const back = Buffer.alloc(SIZE);
  let got = 0;
  while (got < SIZE) {
    const { bytesRead } = await r.read(back, got, SIZE - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  await r.close();
  t.is(got, SIZE, 'read returned the whole file');
  t.is(sha256(back), sha256(data), 'data read back through the mount equals what was written');

  // 3. pwrite into the middle.
  const patch = randomBytes(PATCH_LEN);
  const p = await open(file, 'r+');
  const { bytesWritten } = await p.write(patch, 0, PATCH_LEN, PATCH_AT);
  await p.close();
  t.is(bytesWritten, PATCH_LEN);
  patch.copy(data, PATCH_AT);

  t.is(sha256(await readFile(m.src('big.bin'))), sha256(data), 'source file (behind the mount) holds the patched data');
  t.is(sha256(await readFile(file)), sha256(data), 'mount shows the patched data');
  await settle(m);
}

function count(log: string): Counts {
  const { requests, replies } = parseTrace(log);
  const openReqs = requests.filter((r) => r.op === 'OPEN');
  const openNodes = [...new Set(openReqs.map((r) => r.node))];
  const openResults = openReqs.map((q) => replies.find((r) => r.unique === q.unique)?.result ?? 'NO-REPLY');
  const on = (op: string): number => requests.filter((r) => r.op === op && openNodes.includes(r.node)).length;
  return {
    openNodes,
    openResults,
    readsOnFile: on('READ'),
    writesOnFile: on('WRITE'),
    readsTotal: requests.filter((r) => r.op === 'READ').length,
    writesTotal: requests.filter((r) => r.op === 'WRITE').length,
  };
}

test('passthrough: 4 MiB write, read and pwrite send no READ/WRITE to the daemon', async (t) => {
  t.timeout(60_000);
  t.is(process.getuid?.(), 0, 'this test needs root');
  const m = await withMount(t, { debug: true });
  await workload(t, m);
  const log = m.log();
  const fallback = passthroughFallbackLines(log);
  t.deepEqual(fallback, [], 'passthrough must be available on this machine (root, kernel with passthrough)');
  const c = count(log);
  t.log(JSON.stringify(c));
  const { requests } = parseTrace(log);
  t.true(requests.some((r) => r.op === 'CREATE'), 'the trace shows a CREATE (is -d tracing working?)');
  t.true(c.openNodes.length >= 1, 'the trace shows an OPEN of the file');
  t.is(c.openNodes.length, 1, 'exactly one regular file was opened');
  t.true(c.openResults.every((r) => r === 'OK'), `OPEN replies: ${c.openResults.join(',')}`);
  t.is(c.readsOnFile, 0, 'READ requests for the file nodeid');
  t.is(c.writesOnFile, 0, 'WRITE requests for the file nodeid');
  t.is(c.readsTotal, 0, 'READ requests overall (also covers the CREATE-opened handle)');
  t.is(c.writesTotal, 0, 'WRITE requests overall (also covers the CREATE-opened handle)');
});

test('control: with -o passthrough.io=off the same workload does send READ and WRITE', async (t) => {
  t.timeout(60_000);
  const m = await withMount(t, { debug: true, options: ['passthrough.io=off'] });
  await workload(t, m);
  const c = count(m.log());
  t.log(JSON.stringify(c));
  t.is(c.openNodes.length, 1, 'exactly one regular file was opened');
  t.true(c.readsOnFile > 0, 'READ requests reach the daemon for the file');
  t.true(c.writesOnFile > 0, 'WRITE requests reach the daemon for the file (the pwrite)');
  t.true(c.writesTotal >= SIZE / CHUNK, `the 4 MiB initial write (${SIZE / CHUNK} write(2) calls) went through the daemon: ${c.writesTotal} WRITE requests`);
});
