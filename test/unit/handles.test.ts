// Unit tests for the open-handle table (src/union/handles.ts). The nodes come
// from a real InodeTable; the fds are just numbers (nothing is opened).
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { HandleTable } from '../../src/union/handles.js';
import { InodeTable, type Node } from '../../src/union/inodes.js';
import { Errno, FsError } from '../../src/sys/errno.js';
import type { Branch } from '../../src/union/branches.js';

/** Handles only carry their branch; no fd of it is used here. */
const B: Branch = { index: 0, root: '/b', rootFd: -1, mode: 'RW', minFreeSpace: 0 };

const REG = 0o100000;
const DIR = 0o040000;

function setup(): { ht: HandleTable; it: InodeTable; f: Node; g: Node; d: Node } {
  const it = new InodeTable();
  const d = it.remember(it.root, Buffer.from('d'), 'kd', DIR);
  const f = it.remember(d, Buffer.from('f'), 'kf', REG);
  const g = it.remember(d, Buffer.from('g'), 'kg', REG);
  return { ht: new HandleTable(), it, f, g, d };
}

function throwsEbadf(t: ExecutionContext, fn: () => unknown, what?: string): void {
  const e = t.throws(fn, { instanceOf: FsError }, what);
  t.is(e?.errno, Errno.EBADF, what);
}

test('fh numbers are unique and increasing across files and directories', (t) => {
  const { ht, f, d } = setup();
  const seen = new Set<bigint>();
  let last = 0n;
  for (let i = 0; i < 40; i++) {
    const h = i % 3 === 0 ? ht.addDir(d, B, 100 + i) : ht.addFile(f, B, 100 + i, 0);
    t.true(h.fh > last, `fh ${h.fh} after ${last}`);
    t.false(seen.has(h.fh));
    t.not(h.fh, 0n, 'fh 0 is what the kernel sends when there is no handle');
    seen.add(h.fh);
    last = h.fh;
  }
  t.is(ht.size, 40);
});

test('fh numbers are not reused after a handle is removed', (t) => {
  const { ht, f } = setup();
  const a = ht.addFile(f, B, 10, 0);
  ht.remove(a.fh);
  const b = ht.addFile(f, B, 10, 0);
  t.true(b.fh > a.fh);
  throwsEbadf(t, () => ht.file(a.fh), 'a removed fh is gone for good');
});

test('addFile records what it was given', (t) => {
  const { ht, f } = setup();
  const h = ht.addFile(f, B, 42, 0o2);
  t.is(h.kind, 'file');
  t.is(h.node, f);
  t.is(h.fd, 42);
  t.is(h.flags, 0o2);
  t.is(h.backingId, 0, 'no passthrough until someone sets it');
  t.is(ht.file(h.fh), h);
});

test('addDir records what it was given, with no listing yet', (t) => {
  const { ht, d } = setup();
  const h = ht.addDir(d, B, 43);
  t.is(h.kind, 'dir');
  t.is(h.node, d);
  t.is(h.fd, 43);
  t.is(h.entries, undefined);
  t.false(h.served);
  t.is(ht.dir(h.fh), h);
});

test('file() and dir() are EBADF for the wrong kind', (t) => {
  const { ht, f, d } = setup();
  const fh = ht.addFile(f, B, 10, 0);
  const dh = ht.addDir(d, B, 11);
  throwsEbadf(t, () => ht.dir(fh.fh), 'dir() of a file handle');
  throwsEbadf(t, () => ht.file(dh.fh), 'file() of a dir handle');
  // And the right kind still works afterwards.
  t.is(ht.file(fh.fh), fh);
  t.is(ht.dir(dh.fh), dh);
});

test('file() and dir() are EBADF for an unknown or removed fh', (t) => {
  const { ht, f, d } = setup();
  throwsEbadf(t, () => ht.file(0n));
  throwsEbadf(t, () => ht.dir(0n));
  throwsEbadf(t, () => ht.file(999n));
  throwsEbadf(t, () => ht.dir(999n));
  const fh = ht.addFile(f, B, 10, 0);
  const dh = ht.addDir(d, B, 11);
  t.is(ht.remove(fh.fh), fh);
  t.is(ht.remove(dh.fh), dh);
  throwsEbadf(t, () => ht.file(fh.fh));
  throwsEbadf(t, () => ht.dir(dh.fh));
});

test('remove() of an unknown fh returns undefined and changes nothing', (t) => {
  const { ht, f } = setup();
  const h = ht.addFile(f, B, 10, 0);
  t.is(ht.remove(999n), undefined);
  t.is(ht.remove(h.fh), h);
  t.is(ht.remove(h.fh), undefined, 'a second RELEASE of the same fh');
  t.is(ht.size, 0);
  t.is(ht.openCount(f), 0);
});

test('openCount and anyOpen are per node', (t) => {
  const { ht, f, g, d } = setup();
  t.is(ht.openCount(f), 0);
  t.is(ht.anyOpen(f), undefined);
  const f1 = ht.addFile(f, B, 10, 0);
  const f2 = ht.addFile(f, B, 11, 0);
  const g1 = ht.addFile(g, B, 12, 0);
  t.is(ht.openCount(f), 2);
  t.is(ht.openCount(g), 1);
  t.is(ht.openCount(d), 0);
  t.true(ht.anyOpen(f) === f1 || ht.anyOpen(f) === f2);
  t.is(ht.anyOpen(g), g1);
  t.is(ht.anyOpen(d), undefined);
  t.is(ht.size, 3);
});

test('file and directory handles of one node are counted together', (t) => {
  const { ht, d } = setup();
  const a = ht.addDir(d, B, 10);
  const b = ht.addFile(d, B, 11, 0); // e.g. an O_PATH-ish open of the directory as a file
  t.is(ht.openCount(d), 2);
  ht.remove(a.fh);
  t.is(ht.openCount(d), 1);
  t.is(ht.anyOpen(d), b);
  ht.remove(b.fh);
  t.is(ht.openCount(d), 0);
  t.is(ht.anyOpen(d), undefined);
});

test('remove() updates openCount and anyOpen', (t) => {
  const { ht, f, g } = setup();
  const f1 = ht.addFile(f, B, 10, 0);
  const f2 = ht.addFile(f, B, 11, 0);
  const g1 = ht.addFile(g, B, 12, 0);
  ht.remove(f1.fh);
  t.is(ht.openCount(f), 1);
  t.is(ht.anyOpen(f), f2);
  t.is(ht.openCount(g), 1, 'other nodes untouched');
  ht.remove(f2.fh);
  t.is(ht.openCount(f), 0);
  t.is(ht.anyOpen(f), undefined);
  t.is(ht.anyOpen(g), g1);
  t.is(ht.size, 1);
  // Opening again after the count went to zero starts afresh.
  const f3 = ht.addFile(f, B, 13, 0);
  t.is(ht.openCount(f), 1);
  t.is(ht.anyOpen(f), f3);
});

test('a handle keeps reaching its node after the node lost its names', (t) => {
  const { ht, it, f, d } = setup();
  const h = ht.addFile(f, B, 10, 0);
  it.removeName(d, Buffer.from('f'));
  t.is(f.names.length, 0);
  t.is(ht.anyOpen(f), h);
  t.is(ht.file(h.fh).node, f);
  t.is(ht.openCount(f), 1);
});

test('handles are counted by nodeid: a new node for the same file is separate', (t) => {
  const { ht, it, f, d } = setup();
  ht.addFile(f, B, 10, 0);
  it.removeName(d, Buffer.from('f'));
  // The inode number is reused by a new file: a new node with nothing open.
  const f2 = it.remember(d, Buffer.from('f'), 'kf', REG);
  t.not(f2.id, f.id);
  t.is(ht.openCount(f2), 0);
  t.is(ht.anyOpen(f2), undefined);
  t.is(ht.openCount(f), 1);
});

test('the size counts every open handle', (t) => {
  const { ht, f, d } = setup();
  t.is(ht.size, 0);
  const hs = [ht.addFile(f, B, 1, 0), ht.addDir(d, B, 2), ht.addFile(f, B, 3, 0)];
  t.is(ht.size, 3);
  for (const h of hs) ht.remove(h.fh);
  t.is(ht.size, 0);
});
