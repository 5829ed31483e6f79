// moveonenospc (reference §3.7): a write that fails with ENOSPC on the
// file's branch moves the file to a branch the moveonenospc policy picks
// (copy to a temp file there, rename into place, switch the open handle,
// remove the original) and retries the write; the caller never sees the
// ENOSPC. It only works when writes reach the daemon, i.e. without FUSE
// passthrough, hence passthrough.io=off.
//
// Branches: small (4M, first) and big (64M); ff puts new files on small.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { sha256 } from '../util.js';
import { errnoOf, makeBranches, MiB, mountBraidfs, put, tree, type BranchDef, type Fixture } from './fixture.js';

const DEFS: readonly BranchDef[] = [
  { name: 'small', size: 4, minfree: '1M' },
  { name: 'big', size: 64, minfree: '1M' },
];

const CHUNK = 256 * 1024;

/** Every path on a branch (recursive, sorted). */
const names = (fx: Fixture, branch: string): string[] => tree(fx.dir(branch)).map((l) => l.split(' ')[0]!);

/** Writes all of `data` at `pos` through `fd`, retrying short writes; returns the errno name of the first failing write, or 'OK'. */
function writeAll(fd: number, data: Buffer, pos: number): string {
  let off = 0;
  while (off < data.length) {
    const n = Math.min(CHUNK, data.length - off);
    let wrote: number;
    try {
      wrote = writeSync(fd, data, off, n, pos + off);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'EIO';
    }
    if (wrote <= 0) return 'ZERO_WRITE';
    off += wrote;
  }
  return 'OK';
}

async function setup(t: ExecutionContext, options: string[], defs: readonly BranchDef[] = DEFS, populate?: (fx: Fixture) => void) {
  const fx = makeBranches(t, defs, populate);
  const m = await mountBraidfs(t, fx, ['passthrough.io=off', 'category.create=ff', ...options]);
  return { fx, m };
}

test.serial('moveonenospc=true: an 8 MiB write through one fd that overflows the 4 MiB branch moves the file to the big one', async (t) => {
  const { fx, m } = await setup(t, ['moveonenospc=true']);
  mkdirSync(m.path('dir'));
  const data = randomBytes(8 * MiB);
  const fd = openSync(m.path('dir/big.bin'), 'w');
  let result: string;
  try {
    t.deepEqual(fx.where('dir/big.bin'), ['small'], 'created on small (ff, small first)');
    result = writeAll(fd, data, 0);
  } finally {
    closeSync(fd);
  }
  t.is(result, 'OK', 'every write succeeded');
  t.deepEqual(fx.where('dir/big.bin'), ['big'], 'the file is on big only');
  t.deepEqual(names(fx, 'small'), ['dir'], 'small: no copy, no temp file left');
  t.deepEqual(names(fx, 'big'), ['dir', 'dir/big.bin'], 'big: the file and its cloned directory, no temp file');
  t.is(statSync(fx.at('big', 'dir/big.bin')).size, 8 * MiB);
  t.is(sha256(readFileSync(m.path('dir/big.bin'))), sha256(data), 'content through the mount');
  t.is(sha256(readFileSync(fx.at('big', 'dir/big.bin'))), sha256(data), 'content on the big branch');
});

test.serial('moveonenospc: an existing file (1 MiB on small) grown by 6 MiB keeps its old content after the move', async (t) => {
  const head = randomBytes(1 * MiB);
  const { fx, m } = await setup(t, ['moveonenospc=true'], DEFS, (f) => put(f, 'small', 'grow.bin', head));
  const tail = randomBytes(6 * MiB);
  const fd = openSync(m.path('grow.bin'), 'r+');
  let result: string;
  try {
    result = writeAll(fd, tail, head.length);
  } finally {
    closeSync(fd);
  }
  t.is(result, 'OK');
  t.deepEqual(fx.where('grow.bin'), ['big']);
  t.is(sha256(readFileSync(m.path('grow.bin'))), sha256(Buffer.concat([head, tail])));
});

test.serial('moveonenospc=false: the write fails with ENOSPC and the file stays on small', async (t) => {
  const { fx, m } = await setup(t, ['moveonenospc=false']);
  const fd = openSync(m.path('f.bin'), 'w');
  let result: string;
  try {
    result = writeAll(fd, randomBytes(8 * MiB), 0);
  } finally {
    closeSync(fd);
  }
  t.is(result, 'ENOSPC');
  t.deepEqual(fx.where('f.bin'), ['small']);
  t.deepEqual(names(fx, 'big'), []);
});

test.serial('moveonenospc=POLICY: the named create policy picks the target (lfs → the smaller of two big branches, mfs → the larger)', async (t) => {
  const defs: BranchDef[] = [
    { name: 'small', size: 4, minfree: '1M' },
    { name: 'mid', size: 32, minfree: '1M' },
    { name: 'big', size: 64, minfree: '1M' },
  ];
  for (const [policy, want] of [['lfs', 'mid'], ['mfs', 'big']] as const) {
    const { fx, m } = await setup(t, [`moveonenospc=${policy}`], defs);
    const data = randomBytes(6 * MiB);
    const fd = openSync(m.path('f.bin'), 'w');
    let result: string;
    try {
      result = writeAll(fd, data, 0);
    } finally {
      closeSync(fd);
    }
    t.is(result, 'OK', policy);
    t.deepEqual(fx.where('f.bin'), [want], `moveonenospc=${policy}`);
    t.is(sha256(readFileSync(m.path('f.bin'))), sha256(data), policy);
  }
});

test.serial('moveonenospc: a second fd opened before the move keeps writing into the moved file', async (t) => {
  const { fx, m } = await setup(t, ['moveonenospc=true']);
  const data = randomBytes(6 * MiB);
  const fd1 = openSync(m.path('shared.bin'), 'w');
  const fd2 = openSync(m.path('shared.bin'), 'r+');
  let r1: string;
  let r2: string;
  try {
    r1 = writeAll(fd1, data, 0);
    r2 = writeAll(fd2, Buffer.from('TAIL'), data.length);
  } finally {
    closeSync(fd1);
    closeSync(fd2);
  }
  t.is(r1, 'OK');
  t.is(r2, 'OK');
  t.deepEqual(fx.where('shared.bin'), ['big']);
  t.is(sha256(readFileSync(m.path('shared.bin'))), sha256(Buffer.concat([data, Buffer.from('TAIL')])), 'both writers’ data in the moved file');
});

test.serial('moveonenospc with nowhere to go (every other branch too small) fails with ENOSPC and loses nothing', async (t) => {
  const defs: BranchDef[] = [
    { name: 'small', size: 4, minfree: '1M' },
    { name: 'other', size: 3, minfree: '1M' },
  ];
  const { fx, m } = await setup(t, ['moveonenospc=true'], defs);
  const data = randomBytes(8 * MiB);
  const fd = openSync(m.path('f.bin'), 'w');
  let result: string;
  try {
    result = writeAll(fd, data, 0);
  } finally {
    closeSync(fd);
  }
  t.is(result, 'ENOSPC');
  t.deepEqual(fx.where('f.bin').length, 1, 'still exactly one copy');
  t.is(errnoOf(() => readFileSync(m.path('f.bin'))), 'OK');
});
