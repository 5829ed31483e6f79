// UNLINK below a served directory is answered by the addon (addon.c
// serve_unlink), repeating the action policy epall as ops/remove.ts does it;
// JS then only forgets the name. The same script of unlinks runs from a
// separate process against a mount where the addon answers and one where JS
// answers everything (func.getattr=newest turns the addon's name serving
// off): every errno, every byte read and what is left on each branch must be
// the same, and the first mount must really have answered in the addon.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, withMount, type Mounted } from '../helpers/mount.js';
import { addonAnswered } from './util.js';

/** Three branches: a (RW), r (RO), b (RW), each with directory d. */
function branches(): { a: string; r: string; b: string } {
  const a = makeTempDir('braidfs-unl-a-');
  const r = makeTempDir('braidfs-unl-r-');
  const b = makeTempDir('braidfs-unl-b-');
  for (const root of [a, r, b]) mkdirSync(join(root, 'd'));
  writeFileSync(join(a, 'd', 'only-a'), 'a');
  writeFileSync(join(b, 'd', 'only-b'), 'b');
  writeFileSync(join(a, 'd', 'both'), 'on a');
  writeFileSync(join(b, 'd', 'both'), 'on b');
  writeFileSync(join(r, 'd', 'only-ro'), 'r');
  writeFileSync(join(r, 'd', 'ro-and-b'), 'r');
  writeFileSync(join(b, 'd', 'ro-and-b'), 'b');
  writeFileSync(join(a, 'd', 'open'), 'still readable');
  writeFileSync(join(a, 'd', 'h1'), 'linked');
  linkSync(join(a, 'd', 'h1'), join(a, 'd', 'h2'));
  writeFileSync(join(a, 'd', 'again'), 'old');
  mkdirSync(join(a, 'd', 'sub'));
  return { a, r, b };
}

/** Unlinks through the mount, one result line each; names are stat'ed first so their directory is served. */
const SCRIPT = `
import os, sys
d = os.path.join(sys.argv[1], 'd')
out = []
def do(label, fn):
    try:
        out.append(label + ' ' + str(fn()))
    except OSError as e:
        out.append(label + ' ' + os.strerror(e.errno))
for n in os.listdir(d):
    os.lstat(os.path.join(d, n))
for n in ['only-a', 'only-b', 'both', 'only-ro', 'ro-and-b', 'nowhere', 'sub']:
    do('unlink ' + n, lambda: os.unlink(os.path.join(d, n)))
    do('stat ' + n, lambda: os.lstat(os.path.join(d, n)).st_size)
os.setxattr(os.path.join(d, 'open'), 'user.which', b'the first')
fd = os.open(os.path.join(d, 'open'), os.O_RDONLY)
do('unlink open', lambda: os.unlink(os.path.join(d, 'open')))
do('read unlinked', lambda: os.pread(fd, 100, 0).decode())
do('fstat unlinked nlink', lambda: os.fstat(fd).st_nlink)
do('xattr of the unlinked, alone', lambda: os.getxattr(fd, 'user.which').decode())
# A new file takes the name; the open one is still itself (its xattr is asked by node, not through the fd).
with open(os.path.join(d, 'open'), 'w') as f: f.write('the second')
os.setxattr(os.path.join(d, 'open'), 'user.which', b'the second')
do('xattr of the unlinked', lambda: os.getxattr(fd, 'user.which').decode())
os.close(fd)
do('unlink h1', lambda: os.unlink(os.path.join(d, 'h1')))
do('h2 nlink', lambda: os.lstat(os.path.join(d, 'h2')).st_nlink)
do('unlink again', lambda: os.unlink(os.path.join(d, 'again')))
with open(os.path.join(d, 'again'), 'w') as f: f.write('new one')
do('again reads', lambda: open(os.path.join(d, 'again')).read())
print('\\n'.join(out))
`;

const unlinksAnswered = async (m: Mounted): Promise<number> => (await addonAnswered(m)).get('UNLINK') ?? 0;

const tree = (root: string): string[] => readdirSync(join(root, 'd')).sort();

test('UNLINK answered in the addon: the same errno, data and branches as JS answering it (epall over RW, RO and RW branches)', async (t) => {
  const results: string[] = [];
  const left: string[][][] = [];
  for (const addon of [true, false]) {
    const { a, r, b } = branches();
    const options = ['cache.entry=0', 'cache.attr=0', 'passthrough.io=off', 'category.create=ff', ...(addon ? [] : ['func.getattr=newest'])];
    const m = await withMount(t, { source: `${a}:${r}=RO:${b}`, options });
    const run = spawnSync('python3', ['-c', SCRIPT, m.path()], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr);
    results.push(run.stdout);
    left.push([tree(a), tree(r), tree(b)]);
    const answered = await unlinksAnswered(m);
    if (addon) t.true(answered >= 6, `UNLINKs answered in the addon: ${answered}`);
    else t.is(answered, 0, 'with func.getattr=newest JS answers every UNLINK');
  }
  t.is(results[0], results[1], 'the same results from the addon and from JS');
  t.deepEqual(left[0], left[1], 'the same files left on every branch');
  const lines = results[0]!.split('\n');
  // What epall means, spelled out: both RW copies go, the RO copy stays and says EROFS.
  for (const want of [
    'unlink only-a None',
    'unlink both None',
    'stat both No such file or directory',
    'unlink only-ro Read-only file system',
    'unlink ro-and-b None',
    'stat ro-and-b 1',
    'unlink nowhere No such file or directory',
    'read unlinked still readable',
    'fstat unlinked nlink 0',
    'xattr of the unlinked the first',
    'xattr of the unlinked, alone the first',
    'h2 nlink 1',
    'again reads new one',
  ]) t.true(lines.includes(want), `${want}\n${results[0]}`);
  t.deepEqual(left[0]![1], ['only-ro', 'ro-and-b'], 'nothing removed from the RO branch');
});

test('an UNLINK below a directory renamed through the mount removes the file under its new name, never what took the old one', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=0', 'cache.attr=0', 'passthrough.io=off'] });
  const script = `
import os, sys
m = sys.argv[1]
os.mkdir(os.path.join(m, 'p1'))
open(os.path.join(m, 'p1', 'f'), 'w').write('first')
os.lstat(os.path.join(m, 'p1', 'f'))
os.rename(os.path.join(m, 'p1'), os.path.join(m, 'p2'))
os.mkdir(os.path.join(m, 'p1'))
open(os.path.join(m, 'p1', 'f'), 'w').write('second')
os.unlink(os.path.join(m, 'p2', 'f'))
print(open(os.path.join(m, 'p1', 'f')).read(), sorted(os.listdir(os.path.join(m, 'p2'))))
`;
  const run = spawnSync('python3', ['-c', script, m.path()], { encoding: 'utf8' });
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout.trim(), 'second []');
  t.deepEqual(readdirSync(m.src('p1')), ['f']);
  t.deepEqual(readdirSync(m.src('p2')), []);
});

test('after an UNLINK the addon answered, the other name of a hard-linked file still answers GETATTR', async (t) => {
  // Entries stay valid, attributes do not: each stat of h2 is a GETATTR of its node, by whichever name JS keeps for it.
  const m = await withMount(t, { options: ['cache.entry=60', 'cache.attr=0', 'passthrough.io=off'] });
  mkdirSync(m.src('d'));
  writeFileSync(m.src('d', 'h1'), 'linked');
  linkSync(m.src('d', 'h1'), m.src('d', 'h2'));
  const script = `
import os, sys
d = os.path.join(sys.argv[1], 'd')
os.lstat(os.path.join(d, 'h1')); os.lstat(os.path.join(d, 'h2'))
os.unlink(os.path.join(d, 'h1'))
print(os.lstat(os.path.join(d, 'h2')).st_nlink, os.lstat(os.path.join(d, 'h2')).st_size)
`;
  const run = spawnSync('python3', ['-c', script, m.path()], { encoding: 'utf8' });
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout.trim(), '1 6');
  t.true((await unlinksAnswered(m)) >= 1, 'the UNLINK was answered in the addon');
});
