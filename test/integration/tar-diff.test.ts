// A 20,000-file tree (nested dirs, empty to 100 KB files, symlinks incl.
// dangling ones, hard links, odd modes and owners, awkward names) extracted
// by tar into the mount is identical to the original (diff -r) and to the
// same archive extracted into a plain directory (find listing: path, type,
// mode, size, owner, link count, symlink target).
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, withMount } from '../helpers/mount.js';
import { run } from './util.js';

const TOP = 40;
const SUB = 10;
const PER_DIR = 50; // TOP * SUB * PER_DIR = 20,000 regular files
const FILE_MODES = [0o644, 0o600, 0o755, 0o640, 0o444, 0o700, 0o664, 0o400, 0o750, 0o666];
const DIR_MODES = [0o755, 0o750, 0o700, 0o775, 0o1777, 0o2775, 0o555];

/** Deterministic PRNG (mulberry32) so failures are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function buildTree(root: string): { files: number; bytes: number } {
  const rand = rng(20_000);
  const pool = randomBytes(256 * 1024);
  let files = 0;
  let bytes = 0;
  const dirs: Array<[string, number]> = [];
  const regular: string[] = [];
  for (let a = 0; a < TOP; a++) {
    const d1 = join(root, `top-${String(a).padStart(2, '0')}`);
    mkdirSync(d1);
    dirs.push([d1, DIR_MODES[a % DIR_MODES.length]!]);
    for (let b = 0; b < SUB; b++) {
      const d2 = join(d1, `sub-${b}`);
      mkdirSync(d2);
      if ((a + b) % 9 === 0) dirs.push([d2, DIR_MODES[(a + b) % DIR_MODES.length]!]);
      for (let f = 0; f < PER_DIR; f++) {
        const p = join(d2, `file-${String(f).padStart(3, '0')}.dat`);
        let size: number;
        if (files % 10 === 3) size = 0;
        else if (files % 199 === 7) size = 100 * 1024;
        else if (rand() < 0.1) size = 4096 + Math.floor(rand() * 12_000);
        else size = 1 + Math.floor(rand() * 1500);
        const off = Math.floor(rand() * (pool.length - size));
        const data = size === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from(`${a}/${b}/${f}\n`), pool.subarray(off, off + size)]).subarray(0, size);
        writeFileSync(p, data);
        chmodSync(p, FILE_MODES[files % FILE_MODES.length]!);
        if (files % 97 === 5) chownSync(p, 1000 + (files % 3), 100 + (files % 2));
        regular.push(p);
        files++;
        bytes += size;
      }
      symlinkSync('file-000.dat', join(d2, 'link-to-first'));
      if (b % 3 === 0) symlinkSync('..', join(d2, 'link-up'));
      if (b % 4 === 1) symlinkSync('no/such/target', join(d2, 'dangling'));
      if (b === 5) symlinkSync(`../sub-0/file-00${a % 10}.dat`, join(d2, 'link-sibling-dir'));
    }
  }
  // hard links across directories, and a file with three names
  for (let i = 0; i < 30; i++) {
    const target = regular[(i * 661) % regular.length]!;
    linkSync(target, join(root, `top-${String(i % TOP).padStart(2, '0')}`, `hardlink-${i}`));
  }
  linkSync(regular[42]!, join(root, 'top-00', 'sub-1', 'third-name'));
  // awkward names, an empty dir, a deep path
  const odd = join(root, 'odd names');
  mkdirSync(odd);
  writeFileSync(join(odd, 'with space.txt'), 'space\n');
  writeFileSync(join(odd, 'ünïcödé-名前.txt'), 'unicode\n');
  writeFileSync(join(odd, `${'L'.repeat(250)}`), 'long name\n');
  writeFileSync(join(odd, '.hidden'), '');
  writeFileSync(join(odd, '-dash'), 'dash\n');
  symlinkSync('/etc/hostname', join(odd, 'absolute-link'));
  mkdirSync(join(odd, 'empty-dir'));
  const deep = join(odd, ...Array.from({ length: 30 }, (_, i) => `d${i}`));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'bottom'), 'deep\n');
  // directory modes last (some are read-only; root can still write, but be tidy)
  for (const [d, mode] of dirs.reverse()) chmodSync(d, mode);
  chownSync(join(root, 'top-03'), 1001, 1001);
  return { files, bytes };
}

/** Sorted `find -printf` listing: path, type, mode, size, owner, link count, symlink target. */
async function listing(dir: string): Promise<string[]> {
  const r = await run('find', [dir, '-printf', '%P\\t%y\\t%m\\t%s\\t%U:%G\\t%n\\t%l\\n'], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`find ${dir} failed (${r.code}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/\t/g, ' '))
    .sort();
}

function firstDifferences(a: readonly string[], b: readonly string[], max = 15): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((l) => !sb.has(l)).map((l) => `- plain: ${l}`), ...b.filter((l) => !sa.has(l)).map((l) => `+ mount: ${l}`)].slice(0, max);
}

test('tar -xf of a 20,000-file tree into the mount is identical to the original and to a plain extraction', async (t) => {
  t.timeout(300_000);
  const work = makeTempDir('braidfs-tar-');
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const tree = join(work, 'tree');
  const plain = join(work, 'plain');
  const archive = join(work, 'tree.tar');
  mkdirSync(tree);
  mkdirSync(plain);

  let started = Date.now();
  const { files, bytes } = buildTree(tree);
  t.log(`built ${files} files, ${(bytes / 1e6).toFixed(1)} MB in ${Date.now() - started} ms`);
  t.true(files >= 20_000);

  const c = await run('tar', ['-cf', archive, '-C', tree, '.'], { timeoutMs: 120_000 });
  t.is(c.code, 0, `tar -cf: ${c.stderr}`);

  const m = await withMount(t);
  started = Date.now();
  const x = await run('tar', ['-xf', archive, '-C', m.mountpoint], { timeoutMs: 240_000 });
  t.log(`tar -xf into the mount: ${Date.now() - started} ms`);
  t.false(x.timedOut, 'tar -xf into the mount timed out');
  t.is(x.code, 0, `tar -xf into the mount: ${x.stderr.slice(0, 2000)}`);

  const p = await run('tar', ['-xf', archive, '-C', plain], { timeoutMs: 120_000 });
  t.is(p.code, 0, `tar -xf into a plain dir: ${p.stderr}`);

  started = Date.now();
  const d = await run('diff', ['-r', '--no-dereference', tree, m.mountpoint], { timeoutMs: 240_000 });
  t.log(`diff -r: ${Date.now() - started} ms`);
  t.is(d.code, 0, `diff -r original vs mount:\n${d.stdout.slice(0, 3000)}${d.stderr.slice(0, 2000)}`);
  t.is(d.stdout, '');

  const [lp, lm, ls] = await Promise.all([listing(plain), listing(m.mountpoint), listing(m.source)]);
  t.true(lp.length > files, `plain listing has ${lp.length} entries`);
  t.deepEqual(firstDifferences(lp, lm), [], 'find listing: plain extraction vs mount');
  t.is(lm.length, lp.length);
  t.deepEqual(firstDifferences(lp, ls), [], 'find listing: plain extraction vs the mount\'s source directory');
});
