// Layer resolution (union/layers.ts) on real temp directories: which layers
// show a path after whiteouts, opaque directories and redirects; and the
// id map of overlay mode. No mount: the resolution is transport-free.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BranchSet } from '../../src/union/branches.js';
import { makeIdMap } from '../../src/union/idmap.js';
import { isPrivateXattr, Layers } from '../../src/union/layers.js';
import { makeTempDir } from '../helpers/mount.js';

const B = (s: string): Buffer => Buffer.from(s);

function stack(t: ExecutionContext, build: (dir: (i: number, ...p: string[]) => string) => void, n = 3): Layers {
  const base = makeTempDir('braidfs-layers-');
  const dirs = Array.from({ length: n }, (_, i) => join(base, `l${i}`));
  for (const d of dirs) mkdirSync(d);
  build((i, ...p) => join(dirs[i]!, ...p));
  const set = BranchSet.open(
    dirs.map((path, i) => ({ path, mode: i === 0 ? ('RW' as const) : ('RO' as const), minFreeSpace: 0 })),
    0,
  );
  t.teardown(() => {
    set.close();
    rmSync(base, { recursive: true, force: true });
  });
  return new Layers(() => set, { mknodWhiteouts: true, xattrNamespace: 'trusted' });
}

const where = async (l: Layers, p: string): Promise<string[]> => (await l.resolve(B(p))).map((h) => `${h.branch.index}:${h.rel.toString()}`);
const sh = (cmd: string, ...args: string[]): void => {
  const r = spawnSync(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`);
};

test('the first layer with a name wins; directories merge down to the first non-directory', async (t) => {
  const l = stack(t, (d) => {
    mkdirSync(d(0, 'dir'));
    mkdirSync(d(1, 'dir'));
    mkdirSync(d(2, 'dir'));
    writeFileSync(d(1, 'f'), '1');
    writeFileSync(d(2, 'f'), '2');
    writeFileSync(d(1, 'x'), 'file hides the lower dir');
    mkdirSync(d(2, 'x'));
    mkdirSync(d(0, 'y'));
    writeFileSync(d(1, 'y'), 'file below a dir is hidden');
  });
  t.deepEqual(await where(l, 'dir'), ['0:dir', '1:dir', '2:dir']);
  t.deepEqual(await where(l, 'f'), ['1:f']);
  t.deepEqual(await where(l, 'x'), ['1:x']);
  t.deepEqual(await where(l, 'y'), ['0:y']);
  t.deepEqual(await where(l, 'missing'), []);
  t.deepEqual(await where(l, 'f/under-a-file'), []);
});

test('whiteouts in every form stop the walk; opaque directories cut lower layers off', async (t) => {
  const l = stack(t, (d) => {
    for (const n of ['a', 'b', 'c']) writeFileSync(d(2, n), n);
    sh('mknod', d(1, 'a'), 'c', '0', '0');
    writeFileSync(d(1, '.wh.b'), '');
    for (const n of ['o1', 'o2', 'o3']) {
      mkdirSync(d(1, n));
      mkdirSync(d(2, n));
      writeFileSync(d(2, n, 'below'), '');
    }
    sh('setfattr', '-n', 'trusted.overlay.opaque', '-v', 'y', d(1, 'o1'));
    writeFileSync(d(1, 'o2', '.wh..wh..opq'), '');
    sh('setfattr', '-n', 'user.overlay.opaque', '-v', 'y', d(1, 'o3'));
    mkdirSync(d(1, 'D'));
    writeFileSync(d(1, '.wh.D'), '');
    mkdirSync(d(2, 'D'));
  });
  t.deepEqual(await where(l, 'a'), []);
  t.deepEqual(await where(l, 'b'), []);
  t.deepEqual(await where(l, 'c'), ['2:c']);
  for (const n of ['o1', 'o2', 'o3']) {
    t.deepEqual(await where(l, n), [`1:${n}`], n);
    t.deepEqual(await where(l, `${n}/below`), [], `${n}/below`);
  }
  t.deepEqual(await where(l, 'D'), ['1:D'], 'D plus .wh.D in one layer: D from there only');
});

test('an absolute redirect sends the lower layers to the original path; a relative one to a sibling', async (t) => {
  const l = stack(t, (d) => {
    mkdirSync(d(2, 'old', 'deep'), { recursive: true });
    writeFileSync(d(2, 'old', 'deep', 'f'), 'f');
    mkdirSync(d(1, 'old'));
    writeFileSync(d(1, 'old', 'g'), 'g');
    mkdirSync(d(0, 'moved', 'here'), { recursive: true });
    sh('setfattr', '-n', 'trusted.overlay.redirect', '-v', '/old', d(0, 'moved', 'here'));
    sh('mknod', d(0, 'old'), 'c', '0', '0');
    mkdirSync(d(1, 'sib'));
    mkdirSync(d(0, 'renamed'));
    sh('setfattr', '-n', 'user.overlay.redirect', '-v', 'sib', d(0, 'renamed'));
  });
  t.deepEqual(await where(l, 'old'), []);
  t.deepEqual(await where(l, 'moved/here'), ['0:moved/here', '1:old', '2:old']);
  t.deepEqual(await where(l, 'moved/here/deep/f'), ['2:old/deep/f']);
  t.deepEqual(await where(l, 'moved/here/g'), ['1:old/g']);
  t.deepEqual(await where(l, 'renamed'), ['0:renamed', '1:sib']);
  l.invalidate();
  t.deepEqual(await where(l, 'moved/here/deep'), ['2:old/deep'], 'same answer after the cache is cleared');
});

test('private xattrs: the overlay, fuse-overlayfs, containers and braidfs namespaces, nothing else', (t) => {
  for (const n of ['trusted.overlay.opaque', 'user.overlay.redirect', 'user.fuseoverlayfs.origin', 'user.containers.override_stat', 'trusted.braidfs.origin', 'user.braidfs.x']) t.true(isPrivateXattr(B(n)), n);
  for (const n of ['user.overlay', 'user.mime_type', 'security.capability', 'trusted.other', 'system.posix_acl_access']) t.false(isPrivateXattr(B(n)), n);
});

test('id map: shifts inside ↔ outside, overflow outside every range, squash wins over mappings', (t) => {
  const m = makeIdMap({ uidmapping: [{ inside: 0, outside: 1000, count: 10 }], gidmapping: [{ inside: 5, outside: 50, count: 5 }], squash: { toRoot: false } });
  t.false(m.identity);
  t.deepEqual(m.show(3, 7), { uid: 1003, gid: 52 });
  t.deepEqual(m.show(10, 4), { uid: 65534, gid: 65534 });
  t.deepEqual(m.store(1009, 54), { uid: 9, gid: 9 });
  t.deepEqual(m.store(-1, 50), { uid: -1, gid: 5 });
  const sq = makeIdMap({ uidmapping: [], gidmapping: [], squash: { toRoot: true, toGid: 7 } });
  t.deepEqual(sq.show(123, 456), { uid: 0, gid: 7 });
  t.is(sq.store(1, 1), undefined);
  t.true(makeIdMap({ uidmapping: [], gidmapping: [], squash: { toRoot: false } }).identity);
});
