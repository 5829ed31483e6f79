// Unit tests for the node table (src/union/inodes.ts): nodeids, lookup
// counts, names and the paths rebuilt from them. Pure: no filesystem.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { InodeTable, type Node } from '../../src/union/inodes.js';
import { Errno, FsError } from '../../src/sys/errno.js';

const REG = 0o100000;
const DIR = 0o040000;
const LNK = 0o120000;

const b = (s: string): Buffer => Buffer.from(s);
/** Names that are not valid UTF-8: a decode/encode round trip would mangle them. */
const BAD1 = Buffer.from([0xff, 0xfe]);
const BAD2 = Buffer.from([0x80, 0x81, 0xc3]);

function throwsErrno(t: ExecutionContext, fn: () => unknown, errno: number, what?: string): void {
  const e = t.throws(fn, { instanceOf: FsError }, what);
  t.is(e?.errno, errno, what);
}

function bytesEqual(t: ExecutionContext, actual: Buffer, expected: Buffer, what?: string): void {
  t.is(actual.toString('hex'), expected.toString('hex'), what);
}

/** The printable path of a node ('' for the root). */
const p = (it: InodeTable, n: Node): string => it.path(n).toString('latin1');

// --- the root -------------------------------------------------------------------

test('the root is nodeid 1, a directory, reachable by get() and has the empty path', (t) => {
  const it = new InodeTable();
  t.is(it.root.id, 1n);
  t.is(it.root.type, DIR);
  t.is(it.root.key, undefined);
  t.is(it.get(1n), it.root);
  t.true(it.has(1n));
  t.is(it.size, 1);
  t.is(it.path(it.root).length, 0);
});

test('the root is never forgotten, whatever the count', (t) => {
  const it = new InodeTable();
  const before = it.root.nlookup;
  it.forget(1n, 1);
  it.forget(1n, 1_000_000);
  t.true(it.has(1n));
  t.is(it.get(1n), it.root);
  t.is(it.root.nlookup, before);
  t.is(it.size, 1);
  // Children are still reachable through it.
  const f = it.remember(it.root, b('f'), 'k1', REG);
  t.is(p(it, f), 'f');
});

test('get() of an unknown nodeid is ESTALE', (t) => {
  const it = new InodeTable();
  throwsErrno(t, () => it.get(2n), Errno.ESTALE);
  throwsErrno(t, () => it.get(0n), Errno.ESTALE);
  t.false(it.has(2n));
});

// --- remember -------------------------------------------------------------------

test('remember() makes a new node with one lookup; the same name again counts another', (t) => {
  const it = new InodeTable();
  const a = it.remember(it.root, b('a'), 'k1', REG);
  t.not(a.id, 1n);
  t.is(a.nlookup, 1);
  t.is(a.type, REG);
  t.is(a.key, 'k1');
  t.is(it.get(a.id), a);
  t.is(it.child(it.root, b('a')), a);
  const again = it.remember(it.root, b('a'), 'k1', REG);
  t.is(again, a);
  t.is(a.nlookup, 2);
  t.is(a.names.length, 1, 'the same name is not recorded twice');
  t.is(it.size, 2);
});

test('a new identity key gets a new nodeid, never a used one', (t) => {
  const it = new InodeTable();
  const ids = new Set<bigint>([1n]);
  let last = 1n;
  for (let i = 0; i < 50; i++) {
    const n = it.remember(it.root, b(`f${i}`), `k${i}`, REG);
    t.false(ids.has(n.id), `nodeid ${n.id} handed out twice`);
    t.true(n.id > last, 'nodeids increase');
    ids.add(n.id);
    last = n.id;
  }
  t.is(it.size, 51);
});

test('hard links: the same key under another name is the same node, with both names', (t) => {
  const it = new InodeTable();
  const d = it.remember(it.root, b('d'), 'kd', DIR);
  const a = it.remember(it.root, b('a'), 'k1', REG);
  const l = it.remember(d, b('link'), 'k1', REG);
  t.is(l, a);
  t.is(a.nlookup, 2);
  t.is(a.names.length, 2);
  t.is(it.child(it.root, b('a')), a);
  t.is(it.child(d, b('link')), a);
  // The first name builds the path.
  t.is(p(it, a), 'a');
  t.is(it.size, 3);
});

test('child() distinguishes parents and names', (t) => {
  const it = new InodeTable();
  const d1 = it.remember(it.root, b('d1'), 'kd1', DIR);
  const d2 = it.remember(it.root, b('d2'), 'kd2', DIR);
  const x1 = it.remember(d1, b('x'), 'kx1', REG);
  const x2 = it.remember(d2, b('x'), 'kx2', REG);
  t.not(x1, x2);
  t.is(it.child(d1, b('x')), x1);
  t.is(it.child(d2, b('x')), x2);
  t.is(it.child(it.root, b('x')), undefined);
  t.is(it.child(d1, b('y')), undefined);
});

test('a key seen again with a different file type is a new node (inode number reused)', (t) => {
  const it = new InodeTable();
  const old = it.remember(it.root, b('a'), 'k1', REG);
  const fresh = it.remember(it.root, b('a'), 'k1', DIR);
  t.not(fresh, old);
  t.not(fresh.id, old.id);
  t.is(fresh.type, DIR);
  t.is(fresh.nlookup, 1);
  t.is(it.child(it.root, b('a')), fresh);
  // The old node stays for the kernel (it still holds lookups) but has no name.
  t.true(it.has(old.id));
  t.is(old.nlookup, 1);
  t.is(old.names.length, 0);
  t.is(old.type, REG, 'a node never changes type');
  throwsErrno(t, () => it.path(old), Errno.ENOENT);
  // The key now belongs to the new node.
  t.is(it.remember(it.root, b('a'), 'k1', DIR), fresh);
  t.is(fresh.nlookup, 2);
  // Forgetting the old one does not disturb the new one.
  it.forget(old.id, 1);
  t.false(it.has(old.id));
  t.is(it.child(it.root, b('a')), fresh);
  t.is(it.remember(it.root, b('b'), 'k1', DIR), fresh, 'the new node is still found by its key');
});

test('a key reused with a different type under another name also gets a new node', (t) => {
  const it = new InodeTable();
  const old = it.remember(it.root, b('a'), 'k1', REG);
  const fresh = it.remember(it.root, b('s'), 'k1', LNK);
  t.not(fresh.id, old.id);
  t.is(fresh.type, LNK);
  t.is(it.child(it.root, b('s')), fresh);
});

test('a name that now leads to another file moves to the new node', (t) => {
  const it = new InodeTable();
  const old = it.remember(it.root, b('a'), 'k1', REG);
  // The file was replaced behind our back (e.g. on a branch): same name, new inode.
  const fresh = it.remember(it.root, b('a'), 'k2', REG);
  t.not(fresh, old);
  t.is(it.child(it.root, b('a')), fresh);
  t.is(old.names.length, 0);
  t.true(it.has(old.id), 'the kernel still holds the old node');
  throwsErrno(t, () => it.path(old), Errno.ENOENT);
  // The old key is free: a file that reuses it is a new node too.
  const third = it.remember(it.root, b('b'), 'k1', REG);
  t.not(third, old);
});

// --- paths ------------------------------------------------------------------------

test('path() and childPath() rebuild byte-exact paths from non-UTF-8 names', (t) => {
  const it = new InodeTable();
  const d = it.remember(it.root, BAD1, 'kd', DIR);
  const sub = it.remember(d, b('sub'), 'ks', DIR);
  const f = it.remember(sub, BAD2, 'kf', REG);
  bytesEqual(t, it.path(d), BAD1);
  bytesEqual(t, it.path(sub), Buffer.concat([BAD1, b('/sub')]));
  bytesEqual(t, it.path(f), Buffer.concat([BAD1, b('/sub/'), BAD2]));
  bytesEqual(t, it.childPath(sub, BAD2), Buffer.concat([BAD1, b('/sub/'), BAD2]));
  bytesEqual(t, it.childPath(f, b('x')), Buffer.concat([BAD1, b('/sub/'), BAD2, b('/x')]));
  bytesEqual(t, it.childPath(it.root, BAD2), BAD2, 'a child of the root has no leading slash');
  bytesEqual(t, it.childPath(it.root, b('plain')), b('plain'));
});

test('names that differ only in invalid UTF-8 bytes are different names', (t) => {
  const it = new InodeTable();
  // Both decode to U+FFFD as UTF-8; they must not collide.
  const a = it.remember(it.root, Buffer.from([0xff]), 'ka', REG);
  const c = it.remember(it.root, Buffer.from([0xfe]), 'kc', REG);
  t.not(a, c);
  t.is(it.child(it.root, Buffer.from([0xff])), a);
  t.is(it.child(it.root, Buffer.from([0xfe])), c);
  t.is(it.child(it.root, Buffer.from([0xef, 0xbf, 0xbd])), undefined, 'U+FFFD itself is yet another name');
});

test('the table keeps its own copy of a name', (t) => {
  const it = new InodeTable();
  const name = b('abc');
  const n = it.remember(it.root, name, 'k', REG);
  name[0] = 0x7a; // 'z'
  t.is(p(it, n), 'abc');
  t.is(it.child(it.root, b('abc')), n);
  const to = b('xyz');
  it.rename(it.root, b('abc'), it.root, to);
  to[0] = 0x71; // 'q'
  t.is(p(it, n), 'xyz');
  t.is(it.child(it.root, b('xyz')), n);
});

test('deep paths', (t) => {
  const it = new InodeTable();
  let cur = it.root;
  const parts: string[] = [];
  for (let i = 0; i < 200; i++) {
    cur = it.remember(cur, b(`d${i}`), `k${i}`, DIR);
    parts.push(`d${i}`);
  }
  t.is(p(it, cur), parts.join('/'));
  t.is(it.childPath(cur, b('leaf')).toString(), `${parts.join('/')}/leaf`);
});

test('path() of a node under an unlinked directory is ENOENT', (t) => {
  const it = new InodeTable();
  const d = it.remember(it.root, b('d'), 'kd', DIR);
  const f = it.remember(d, b('f'), 'kf', REG);
  it.removeName(it.root, b('d'));
  throwsErrno(t, () => it.path(d), Errno.ENOENT);
  throwsErrno(t, () => it.path(f), Errno.ENOENT);
  throwsErrno(t, () => it.childPath(d, b('g')), Errno.ENOENT);
});

// --- rename -----------------------------------------------------------------------

test('rename of a directory moves the paths of its whole subtree', (t) => {
  const it = new InodeTable();
  const a = it.remember(it.root, b('a'), 'ka', DIR);
  const bb = it.remember(a, b('b'), 'kb', DIR);
  const c = it.remember(bb, BAD1, 'kc', REG);
  const z = it.remember(it.root, b('z'), 'kz', DIR);
  it.rename(it.root, b('a'), z, b('x'));
  t.is(it.child(it.root, b('a')), undefined);
  t.is(it.child(z, b('x')), a);
  t.is(p(it, a), 'z/x');
  t.is(p(it, bb), 'z/x/b');
  bytesEqual(t, it.path(c), Buffer.concat([b('z/x/b/'), BAD1]));
  t.is(it.child(bb, BAD1), c, 'children stay keyed by their parent');
  // Same ids, same counts: a rename is not a lookup.
  t.is(a.nlookup, 1);
  t.is(it.size, 5);
  // And back again.
  it.rename(z, b('x'), it.root, b('a'));
  bytesEqual(t, it.path(c), Buffer.concat([b('a/b/'), BAD1]));
});

test('rename onto an existing name detaches the replaced node', (t) => {
  const it = new InodeTable();
  const f1 = it.remember(it.root, b('a'), 'k1', REG);
  const f2 = it.remember(it.root, b('b'), 'k2', REG);
  it.rename(it.root, b('a'), it.root, b('b'));
  t.is(it.child(it.root, b('b')), f1);
  t.is(it.child(it.root, b('a')), undefined);
  t.is(p(it, f1), 'b');
  // The replaced file may still be open: the node stays, nameless.
  t.true(it.has(f2.id));
  t.is(f2.names.length, 0);
  throwsErrno(t, () => it.path(f2), Errno.ENOENT);
  // Its inode number may be reused by a new file: that is a new node.
  const f3 = it.remember(it.root, b('c'), 'k2', REG);
  t.not(f3, f2);
  // Forgetting the replaced node must not remove the name it used to have.
  it.forget(f2.id, 1);
  t.false(it.has(f2.id));
  t.is(it.child(it.root, b('b')), f1);
  t.is(p(it, f1), 'b');
});

test('rename onto a name of a file that has another link keeps that file reachable', (t) => {
  const it = new InodeTable();
  const f1 = it.remember(it.root, b('a'), 'k1', REG);
  const f2 = it.remember(it.root, b('b'), 'k2', REG);
  t.is(it.remember(it.root, b('h'), 'k2', REG), f2);
  it.rename(it.root, b('a'), it.root, b('b'));
  t.is(it.child(it.root, b('b')), f1);
  t.is(p(it, f2), 'h');
  t.is(it.child(it.root, b('h')), f2);
  t.is(it.remember(it.root, b('h2'), 'k2', REG), f2, 'still found by its key');
});

test('rename of one hard link onto another link of the same file is a no-op', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.remember(it.root, b('b'), 'k1', REG);
  it.rename(it.root, b('a'), it.root, b('b'));
  t.is(it.child(it.root, b('a')), f);
  t.is(it.child(it.root, b('b')), f);
  t.is(f.names.length, 2);
  t.is(f.key, 'k1');
  t.is(p(it, f), 'a');
  t.is(it.remember(it.root, b('c'), 'k1', REG), f);
});

test('rename onto itself is a no-op', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.rename(it.root, b('a'), it.root, b('a'));
  t.is(it.child(it.root, b('a')), f);
  t.is(p(it, f), 'a');
  t.is(f.key, 'k1');
});

test('rename moves only the link that was renamed', (t) => {
  const it = new InodeTable();
  const d = it.remember(it.root, b('d'), 'kd', DIR);
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.remember(d, b('l'), 'k1', REG);
  it.rename(it.root, b('a'), it.root, b('c'));
  t.is(it.child(it.root, b('a')), undefined);
  t.is(it.child(it.root, b('c')), f);
  t.is(it.child(d, b('l')), f);
  t.is(f.names.length, 2);
  t.deepEqual(f.names.map((n) => it.childPath(n.parent, n.name).toString()).sort(), ['c', 'd/l']);
});

test('rename of a name the table never saw still detaches the replaced node', (t) => {
  const it = new InodeTable();
  const f2 = it.remember(it.root, b('b'), 'k2', REG);
  it.rename(it.root, b('unseen'), it.root, b('b'));
  t.is(it.child(it.root, b('b')), undefined);
  t.is(f2.names.length, 0);
  throwsErrno(t, () => it.path(f2), Errno.ENOENT);
  t.true(it.has(f2.id));
});

test('rename to a name the table never saw just moves', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.rename(it.root, b('a'), it.root, BAD2);
  t.is(it.child(it.root, BAD2), f);
  bytesEqual(t, it.path(f), BAD2);
  // The next lookup of the new name is the same node.
  t.is(it.remember(it.root, BAD2, 'k1', REG), f);
  t.is(f.names.length, 1);
  t.is(f.nlookup, 2);
});

// --- exchange ---------------------------------------------------------------------

test('exchange swaps the two names, subtrees included', (t) => {
  const it = new InodeTable();
  const d = it.remember(it.root, b('d'), 'kd', DIR);
  const e = it.remember(it.root, b('e'), 'ke', DIR);
  const inD = it.remember(d, b('x'), 'kx', REG);
  const f = it.remember(e, b('f'), 'kf', REG);
  it.exchange(it.root, b('d'), e, b('f'));
  t.is(it.child(it.root, b('d')), f);
  t.is(it.child(e, b('f')), d);
  t.is(p(it, f), 'd');
  t.is(p(it, d), 'e/f');
  t.is(p(it, inD), 'e/f/x');
  t.is(d.names.length, 1);
  t.is(f.names.length, 1);
  t.true(it.has(d.id) && it.has(f.id));
  t.is(d.nlookup, 1);
  t.is(f.nlookup, 1);
});

test('exchange keeps identities: the next lookup of a swapped name is the same nodeid', (t) => {
  const it = new InodeTable();
  const a = it.remember(it.root, b('a'), 'ka', REG);
  const c = it.remember(it.root, b('c'), 'kc', REG);
  it.exchange(it.root, b('a'), it.root, b('c'));
  // Looking the names up again (the kernel does, when its entry cache
  // expires) must give the same nodes: the files did not change, only
  // their names did. A new nodeid here would split one file into two nodes.
  t.is(it.remember(it.root, b('c'), 'ka', REG), a);
  t.is(it.remember(it.root, b('a'), 'kc', REG), c);
  t.is(a.key, 'ka');
  t.is(c.key, 'kc');
  // A hard link made later to either file is the same node too.
  t.is(it.remember(it.root, b('a2'), 'ka', REG), a);
});

test('exchange with a name the table never saw', (t) => {
  const it = new InodeTable();
  const a = it.remember(it.root, b('a'), 'ka', REG);
  it.exchange(it.root, b('a'), it.root, b('unseen'));
  t.is(it.child(it.root, b('unseen')), a);
  t.is(it.child(it.root, b('a')), undefined);
  t.is(p(it, a), 'unseen');
});

// --- removeName -------------------------------------------------------------------

test('removeName drops the name but keeps the node (it may still be open)', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  t.is(it.removeName(it.root, b('a')), f);
  t.is(it.child(it.root, b('a')), undefined);
  t.true(it.has(f.id));
  t.is(it.get(f.id), f);
  t.is(f.nlookup, 1, 'unlink is not a forget');
  t.is(f.names.length, 0);
  throwsErrno(t, () => it.path(f), Errno.ENOENT);
  // A new file reusing the inode number gets a new nodeid, even under the same name.
  const g = it.remember(it.root, b('a'), 'k1', REG);
  t.not(g, f);
  t.not(g.id, f.id);
  t.is(g.nlookup, 1);
  t.is(f.nlookup, 1);
  throwsErrno(t, () => it.path(f), Errno.ENOENT);
  // FORGET of the old node later does not touch the new one.
  it.forget(f.id, 1);
  t.is(it.child(it.root, b('a')), g);
  t.is(it.remember(it.root, b('b'), 'k1', REG), g);
});

test('removeName of one hard link keeps the node reachable by the other', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.remember(it.root, b('b'), 'k1', REG);
  t.is(it.removeName(it.root, b('a')), f);
  t.is(p(it, f), 'b');
  t.is(it.remember(it.root, b('c'), 'k1', REG), f, 'still the same file');
});

test('removeName of an unknown name returns undefined and changes nothing', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  t.is(it.removeName(it.root, b('zz')), undefined);
  t.is(it.removeName(f, b('a')), undefined, 'the name is keyed by its parent');
  t.is(it.child(it.root, b('a')), f);
  t.is(it.size, 2);
});

// --- forget -----------------------------------------------------------------------

test('a partial forget keeps the node and its names', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.remember(it.root, b('a'), 'k1', REG);
  it.remember(it.root, b('a'), 'k1', REG);
  t.is(f.nlookup, 3);
  it.forget(f.id, 2);
  t.true(it.has(f.id));
  t.is(f.nlookup, 1);
  t.is(it.child(it.root, b('a')), f);
  t.is(p(it, f), 'a');
  t.is(it.remember(it.root, b('a'), 'k1', REG), f);
  t.is(f.nlookup, 2);
});

test('forget to zero removes the node, all its names and its key', (t) => {
  const it = new InodeTable();
  const d = it.remember(it.root, b('d'), 'kd', DIR);
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.remember(d, b('l'), 'k1', REG);
  t.is(f.nlookup, 2);
  it.forget(f.id, 2);
  t.false(it.has(f.id));
  throwsErrno(t, () => it.get(f.id), Errno.ESTALE);
  t.is(it.child(it.root, b('a')), undefined);
  t.is(it.child(d, b('l')), undefined);
  t.is(it.size, 2);
  // The same file looked up again is a new node with a new (larger) nodeid.
  const again = it.remember(it.root, b('a'), 'k1', REG);
  t.not(again, f);
  t.true(again.id > f.id, 'nodeids are never reused');
  t.is(again.nlookup, 1);
});

test('forget counts accumulate across calls', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.remember(it.root, b('a'), 'k1', REG);
  it.forget(f.id, 1);
  t.true(it.has(f.id));
  it.forget(f.id, 1);
  t.false(it.has(f.id));
});

test('an over-forget is tolerated, and forget of an unknown nodeid is ignored', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  const g = it.remember(it.root, b('g'), 'k2', REG);
  it.forget(f.id, 10);
  t.false(it.has(f.id));
  t.is(f.nlookup, 0);
  t.notThrows(() => it.forget(f.id, 1));
  t.notThrows(() => it.forget(12345n, 1));
  t.true(it.has(g.id));
  t.is(it.child(it.root, b('g')), g);
  t.is(it.size, 2);
});

test('forgetting a node without names (unlinked) removes it', (t) => {
  const it = new InodeTable();
  const f = it.remember(it.root, b('a'), 'k1', REG);
  it.removeName(it.root, b('a'));
  it.forget(f.id, 1);
  t.false(it.has(f.id));
  t.is(it.size, 1);
});

// --- anonymous nodes (O_TMPFILE) -----------------------------------------------------

test('rememberAnonymous makes a nameless node with one lookup', (t) => {
  const it = new InodeTable();
  const n = it.rememberAnonymous('kt', REG);
  t.not(n.id, 1n);
  t.is(n.nlookup, 1);
  t.is(n.names.length, 0);
  t.is(n.type, REG);
  t.true(it.has(n.id));
  throwsErrno(t, () => it.path(n), Errno.ENOENT);
});

test('LINK of an O_TMPFILE: remember() with the anonymous key returns the same node', (t) => {
  const it = new InodeTable();
  const d = it.remember(it.root, b('d'), 'kd', DIR);
  const n = it.rememberAnonymous('kt', REG);
  const linked = it.remember(d, BAD1, 'kt', REG);
  t.is(linked, n);
  t.is(n.nlookup, 2);
  bytesEqual(t, it.path(n), Buffer.concat([b('d/'), BAD1]));
  t.is(it.child(d, BAD1), n);
  it.forget(n.id, 2);
  t.false(it.has(n.id));
  t.is(it.child(d, BAD1), undefined);
});

test('an anonymous node forgotten before any LINK frees its key', (t) => {
  const it = new InodeTable();
  const n = it.rememberAnonymous('kt', REG);
  it.forget(n.id, 1);
  t.false(it.has(n.id));
  const m = it.remember(it.root, b('x'), 'kt', REG);
  t.not(m.id, n.id);
});

// --- iteration ---------------------------------------------------------------------

test('nodes() iterates exactly the live nodes, root included', (t) => {
  const it = new InodeTable();
  const a = it.remember(it.root, b('a'), 'ka', REG);
  const c = it.remember(it.root, b('c'), 'kc', DIR);
  const anon = it.rememberAnonymous('kt', REG);
  const gone = it.remember(it.root, b('g'), 'kg', REG);
  const unlinked = it.remember(it.root, b('u'), 'ku', REG);
  it.forget(gone.id, 1);
  it.removeName(it.root, b('u'));
  const ids = [...it.nodes()].map((n) => n.id).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  t.deepEqual(ids, [1n, a.id, c.id, anon.id, unlinked.id]);
  t.is(it.size, ids.length);
  for (const n of it.nodes()) t.is(it.get(n.id), n);
});

test('a child keeps its path when the kernel forgets the parent it was moved under and finds it under a new parent node', (t) => {
  // The pool case: dst/ moves to another branch (new identity, new node);
  // the kernel drops the old dst node with its children's dentries, while
  // the moved file is looked up again under the new dst node.
  const tbl = new InodeTable();
  const src = tbl.remember(tbl.root, b('src'), 'src@b', DIR);
  const oldDst = tbl.remember(tbl.root, b('dst'), 'dst@b', DIR);
  const f = tbl.remember(src, b('f'), 'f@a', REG);
  tbl.rename(src, b('f'), oldDst, b('f'));
  const newDst = tbl.remember(tbl.root, b('dst'), 'dst@a', DIR);
  t.not(newDst, oldDst);
  t.is(tbl.remember(newDst, b('f'), 'f@a', REG), f, 'same file, same node');
  tbl.forget(oldDst.id, oldDst.nlookup);
  bytesEqual(t, tbl.path(f), b('dst/f'));
});

// --- lookups answered elsewhere (NameMirror: the addon's LOOKUP path) ------------

/** A mirror that has answered `pending` lookups per "parent/name", and records what was dropped. */
function fakeMirror(pending: Record<string, number>): { mirror: import('../../src/union/inodes.js').NameMirror; dropped: string[] } {
  const dropped: string[] = [];
  const key = (p: bigint, n: Buffer): string => `${p}/${n.toString('latin1')}`;
  return {
    dropped,
    mirror: {
      lookupsSince: (p, n) => {
        const k = key(p, n);
        const v = pending[k] ?? 0;
        pending[k] = 0;
        return v;
      },
      gone: (p, n) => {
        const k = key(p, n);
        dropped.push(k);
        const v = pending[k] ?? 0;
        pending[k] = 0;
        return v;
      },
    },
  };
}

test('lookups answered elsewhere count before a FORGET is applied, and a dropped node forgets its names there', (t) => {
  const tab = new InodeTable();
  const n = tab.remember(tab.root, b('a'), 'k:a', REG); // 1 lookup here
  const { mirror, dropped } = fakeMirror({ '1/a': 2 }); // 2 answered elsewhere
  tab.mirror = mirror;
  tab.forget(n.id, 2);
  t.true(tab.has(n.id), '3 lookups in all, 2 forgotten: still held');
  tab.forget(n.id, 1);
  t.false(tab.has(n.id), 'all 3 forgotten');
  t.deepEqual(dropped, ['1/a']);
});

test('a name leaving its node (unlink, rename, exchange, replaced) credits the lookups answered elsewhere to that node', (t) => {
  const tab = new InodeTable();
  const a = tab.remember(tab.root, b('a'), 'k:a', REG);
  const c = tab.remember(tab.root, b('c'), 'k:c', REG);
  const x = tab.remember(tab.root, b('x'), 'k:x', REG);
  const y = tab.remember(tab.root, b('y'), 'k:y', REG);
  tab.mirror = fakeMirror({ '1/a': 4, '1/c': 5, '1/x': 6, '1/y': 7 }).mirror;
  tab.removeName(tab.root, b('a'));
  t.is(a.nlookup, 5, 'unlink');
  tab.rename(tab.root, b('c'), tab.root, b('d'));
  t.is(c.nlookup, 6, 'rename: the moving name');
  tab.exchange(tab.root, b('x'), tab.root, b('y'));
  t.is(x.nlookup, 7, 'exchange');
  t.is(y.nlookup, 8, 'exchange');
  const z = tab.remember(tab.root, b('d'), 'k:other', REG); // a new file under c's new name
  t.not(z, c);
  t.is(c.nlookup, 6, 'nothing more was pending for d');
});
