// Overlay mode, a big copy-up does not stall the mount: while one process
// appends to a 2 GiB lower file (copying it up takes a while), another keeps
// looking up, reading and listing small things on the same mount, and those
// requests must complete during the copy. Afterwards the copy is exact.
//
// The layers live on a tmpfs mounted by the test (5 GiB, all of it real
// data: random bytes, not a sparse or fallocated file), so the copy has real
// work to do and no reflink can make it instant. Teardown order: the overlay,
// then the tmpfs, then the temp directory.
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLayers, withOverlay, type OverlayProgram } from '../../helpers/overlay.js';
import { sleep, waitFor } from '../util.js';

/** Which program mounts the layers. Always braidfs in the suite; 'fuse-overlayfs' only to sanity-check the tests themselves. */
const PROGRAM: OverlayProgram = (process.env['BRAIDFS_OVERLAY_TEST_PROGRAM'] as OverlayProgram | undefined) ?? 'braidfs';

const MiB = 1024 * 1024;
const BLOCK = 64 * MiB;
const BLOCKS = 32;
const BIG = BLOCK * BLOCKS; // 2 GiB

/** Small requests on the mount, in a loop, each iteration reported as one JSON line with its completion time. */
const PROBE = `
const fs = require('fs');
const path = require('path');
const [mnt, stop] = process.argv.slice(1);
const pause = new Int32Array(new SharedArrayBuffer(4));
const deadline = Date.now() + 120000;
for (let i = 0; !fs.existsSync(stop) && Date.now() < deadline; i++) {
  const attempt = (f) => { try { return f(); } catch (e) { return 'error ' + e.code; } };
  const lookup = attempt(() => (fs.statSync(path.join(mnt, 'absent-' + i)), 'found'));
  const small = attempt(() => fs.readFileSync(path.join(mnt, 'small'), 'latin1'));
  const names = attempt(() => fs.readdirSync(mnt).sort().join(','));
  process.stdout.write(JSON.stringify({ t: Date.now(), lookup, small, names }) + '\\n');
  Atomics.wait(pause, 0, 0, 5);
}
`;

interface ProbeLine {
  t: number;
  lookup: string;
  small: string;
  names: string;
}

/** sha256 of the first `len` bytes of a file. */
async function sha256Prefix(p: string, len: number): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p, { start: 0, end: len - 1, highWaterMark: 8 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

test.serial('a 2 GiB copy-up does not stall other requests on the mount, and the copy is exact', async (t) => {
  t.timeout(180_000);
  const base = mkdtempSync(join(tmpdir(), 'braidfs-bigcopy-'));
  const fsdir = join(base, 'tmpfs');
  mkdirSync(fsdir);
  let tmpfsMounted = false;
  t.teardown(() => {
    if (tmpfsMounted) {
      spawnSync('umount', [fsdir], { stdio: 'ignore' });
      spawnSync('umount', ['-l', fsdir], { stdio: 'ignore' });
    }
    rmSync(base, { recursive: true, force: true });
  });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=5G,mode=0755', 'braidfs-bigcopy', fsdir], { encoding: 'utf8' });
  if (r.status !== 0) return t.fail(`mount tmpfs: ${r.stderr}`);
  tmpfsMounted = true;

  const l = makeLayers(1, { base: fsdir });
  const lower = l.lowers[0]!;
  const block = randomBytes(BLOCK);
  const lowerHash = createHash('sha256');
  const fd = openSync(join(lower, 'big'), 'w');
  try {
    for (let i = 0; i < BLOCKS; i++) {
      // every block differs a little, so a copy that repeats or skips a block shows
      block.writeUInt32LE(i, 0);
      for (let off = 0; off < BLOCK; ) off += writeSync(fd, block, off, BLOCK - off);
      lowerHash.update(block);
    }
  } finally {
    closeSync(fd);
  }
  const lowerSha = lowerHash.digest('hex');
  writeFileSync(join(lower, 'small'), 'small file');
  t.is(statSync(join(lower, 'big')).blocks * 512, BIG, 'the lower file is fully allocated');

  const m = await withOverlay(t, l, { program: PROGRAM });
  statSync(m.path('big'));

  // the prober runs first, and must be seen working before the copy-up starts
  const stop = join(base, 'stop');
  const lines: ProbeLine[] = [];
  let probeOut = '';
  let probeErr = '';
  const probe: ChildProcess = spawn(process.execPath, ['-e', PROBE, m.mountpoint, stop], { stdio: ['ignore', 'pipe', 'pipe'] });
  const probeExit = new Promise<number | null>((res) => probe.once('exit', (code) => res(code)));
  t.teardown(async () => {
    writeFileSync(stop, '');
    if (probe.exitCode === null && probe.signalCode === null) {
      if ((await Promise.race([probeExit.then(() => true), sleep(5000).then(() => false)])) === false) probe.kill('SIGKILL');
    }
  });
  probe.stdout?.setEncoding('utf8');
  probe.stderr?.setEncoding('utf8');
  probe.stdout?.on('data', (d: string) => {
    probeOut += d;
    const parts = probeOut.split('\n');
    probeOut = parts.pop() ?? '';
    for (const p of parts) lines.push(JSON.parse(p) as ProbeLine);
  });
  probe.stderr?.on('data', (d: string) => (probeErr += d));
  if (!(await waitFor(() => lines.length >= 3, 15_000))) return t.fail(`the prober did not get going: ${probeErr}`);

  // the copy-up: the shell's open(O_APPEND) of the lower file copies it up before `echo` writes;
  // the child stamps its own start and end (same clock as the prober)
  const copy = spawn('sh', ['-c', 'date +%s%3N; echo x >> "$1"; s=$?; date +%s%3N; exit $s', 'sh', m.path('big')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let copyOut = '';
  let copyErr = '';
  copy.stdout.setEncoding('utf8');
  copy.stderr.setEncoding('utf8');
  copy.stdout.on('data', (d: string) => (copyOut += d));
  copy.stderr.on('data', (d: string) => (copyErr += d));
  const copyCode = await new Promise<number | null>((res) => copy.once('close', (code) => res(code)));
  t.is(copyCode, 0, `echo x >> big: ${copyErr}`);
  const [copyStart, copyEnd] = copyOut.trim().split('\n').map(Number) as [number, number];

  writeFileSync(stop, '');
  t.is(await probeExit, 0, `prober: ${probeErr}`);

  const copyMs = copyEnd - copyStart;
  const during = lines.filter((p) => p.t > copyStart && p.t < copyEnd);
  t.log(`copy-up took ${copyMs} ms; ${during.length} of ${lines.length} probe iterations completed during it`);
  if (copyMs <= 300) {
    t.fail(`the copy-up took only ${copyMs} ms: too fast to observe whether other requests went on during it`);
  } else {
    t.true(during.length >= 3, `only ${during.length} small requests completed during a ${copyMs} ms copy-up`);
  }
  const when = (ms: number): string => (ms < copyStart ? `${copyStart - ms} ms before the copy-up` : ms <= copyEnd ? `${ms - copyStart} ms into the copy-up` : `${ms - copyEnd} ms after the copy-up`);
  const wrong = lines
    .filter((p) => p.lookup !== 'error ENOENT' || p.small !== 'small file' || p.names !== 'big,small')
    .map((p) => `${when(p.t)}: lookup of a missing name ${p.lookup}, read of small ${JSON.stringify(p.small)}, readdir ${JSON.stringify(p.names)}`);
  t.deepEqual(wrong, [], 'every probe: the missing name ENOENT, small readable, readdir exactly big,small (no temp names)');

  const up = join(l.upper!, 'big');
  t.is(statSync(up).size, BIG + 2, 'upper big is 2 GiB + "x\\n"');
  t.is(await sha256Prefix(up, BIG), lowerSha, 'the first 2 GiB of the copy equal the lower file');
  const tail = Buffer.alloc(8);
  const ufd = openSync(up, 'r');
  try {
    t.is(readSync(ufd, tail, 0, tail.length, BIG), 2);
  } finally {
    closeSync(ufd);
  }
  t.is(tail.subarray(0, 2).toString('latin1'), 'x\n', 'then the appended line');
  t.is(statSync(join(lower, 'big')).size, BIG, 'lower unchanged in size');
});
