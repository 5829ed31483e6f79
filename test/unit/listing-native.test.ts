// The addon's merged listing (readdirMergedSync) on real directories: one
// record per name with the first branch winning, each a struct fuse_dirent
// whose inode number is what inodeCalc gives for that entry, in every mode.
// The C hash must equal the JS one bit for bit (inode numbers are stable
// across versions), so this compares them over real names and inodes.
import test from 'ava';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../../src/native/index.js';
import { DirBuffer } from '../../src/fuse/replies.js';
import { INODECALC_MODES, inodeCalc, listingCalcCode, listingSeeds } from '../../src/union/inodecalc.js';
import { PackedListing, type Listing } from '../../src/union/listing.js';
import type { Branch } from '../../src/union/branches.js';

const DT_DIR = 4;
const REL = Buffer.from('top/sub');

function makeBranches(): { roots: string[]; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'braidfs-listing-'));
  const roots = [join(base, 'b1'), join(base, 'b2'), join(base, 'b3')];
  const at = (r: string): string => join(r, 'top', 'sub');
  mkdirSync(at(roots[0]!), { recursive: true });
  // b2 has no such directory: skipped (fd -1).
  mkdirSync(at(roots[2]!), { recursive: true });
  writeFileSync(join(at(roots[0]!), 'file'), 'x');
  mkdirSync(join(at(roots[0]!), 'dir'));
  writeFileSync(join(at(roots[0]!), 'both'), 'first');
  writeFileSync(join(at(roots[2]!), 'both'), 'third'); // hidden by b1's
  mkdirSync(join(at(roots[2]!), 'only-third-dir'));
  writeFileSync(Buffer.concat([Buffer.from(join(at(roots[2]!), 'bad-')), Buffer.from([0xff, 0xfe])]), '');
  writeFileSync(join(at(roots[2]!), 'n'.repeat(255)), '');
  for (let i = 0; i < 3000; i++) writeFileSync(join(at(roots[i % 2 === 0 ? 0 : 2]!), `many-${i}`), '');
  return { roots, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

test('readdirMergedSync: one READDIR record per name, first branch wins, numbered as inodeCalc numbers it, in every mode', (t) => {
  const { roots, cleanup } = makeBranches();
  const fds = roots.map((r) => {
    try {
      return openSync(join(r, 'top', 'sub'), 'r');
    } catch {
      return -1;
    }
  });
  t.teardown(() => {
    for (const fd of fds) if (fd >= 0) closeSync(fd);
    cleanup();
  });
  t.is(fds[1], -1);
  const branches = roots.map((root, index) => ({ root, index }) as unknown as Branch);
  for (const mode of INODECALC_MODES) {
    const packed = native.readdirMergedSync(fds, REL, listingCalcCode(mode), listingSeeds(roots));
    if (typeof packed === 'number') return t.fail(`errno ${-packed}`);
    const listing: Listing = new PackedListing(packed, branches);
    // ".", "..", file, dir, both, only-third-dir, bad-\xff\xfe, n*255, 3000 × many-
    t.is(listing.length, 3008, mode);
    const seen = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < listing.length; i++) {
      const e = listing.entry(i);
      const key = e.name.toString('latin1');
      t.false(seen.has(key), `${mode}: ${key} listed once`);
      seen.add(key);
      const dirPath = join(e.branch.root, 'top', 'sub');
      const isDot = key === '.' || key === '..';
      const st = lstatSync(key === '.' ? dirPath : key === '..' ? join(dirPath, '..') : Buffer.concat([Buffer.from(dirPath + '/'), e.name]));
      if (key === 'both') t.is(e.branch.index, 0, 'the first branch wins a name');
      t.is(e.type === DT_DIR, st.isDirectory(), `${mode}: ${key} type`);
      const relPath = key === '.' ? REL : key === '..' ? Buffer.from('top') : Buffer.concat([REL, Buffer.from('/'), e.name]);
      const want = inodeCalc(mode, { branchRoot: e.branch.root, relPath, dev: 0n, ino: BigInt(st.ino), isDir: st.isDirectory() });
      if (e.ino !== want) t.fail(`${mode}: ${key}${isDot ? '' : ` on ${e.branch.index}`}: ino ${e.ino}, inodeCalc ${want}`);
      bytes += DirBuffer.recordSize(e.name.length, false);
    }
    t.true(seen.has('bad-\xff\xfe') && seen.has('n'.repeat(255)) && seen.has('only-third-dir'));
    // The whole listing as one READDIR reply: records back to back, cookie = index + 1.
    const reply = listing.readdirReply(0, listing.length, bytes);
    t.is(reply.length, bytes, `${mode}: record sizes`);
    for (let p = 0, i = 0; p < reply.length; i++) {
      t.is(reply.readBigUInt64LE(p + 8), BigInt(i + 1));
      p += DirBuffer.recordSize(reply.readUInt32LE(p + 16), false);
    }
  }
});
