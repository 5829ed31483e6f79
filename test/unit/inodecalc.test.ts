import test from 'ava';
import {
  DEFAULT_INODECALC,
  INODECALC_MODES,
  fnv1a64,
  hash64,
  inodeCalc,
  inodeCalcFor,
  isInodeCalcMode,
  parseInodeCalcMode,
} from '../../src/union/inodecalc.js';
import type { InodeCalcMode, InodeInput } from '../../src/union/inodecalc.js';

const TWO32 = 2n ** 32n;
const TWO64 = 2n ** 64n;

const input = (over: Partial<InodeInput> = {}): InodeInput => ({
  branchRoot: '/mnt/disk1',
  relPath: Buffer.from('movies/a.mkv'),
  dev: 2049n,
  ino: 131073n,
  isDir: false,
  ...over,
});

// ---- an independent BigInt model of the hash, to check the 32-bit lane arithmetic ----

const M32 = 0xffffffffn;
const M64 = TWO64 - 1n;
const FNV_BASIS = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

function refFnv(bytes: Uint8Array, state = FNV_BASIS): bigint {
  let h = state;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & M64;
  return h;
}

function refFmix32(h: bigint): bigint {
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) & M32;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) & M32;
  h ^= h >> 16n;
  return h;
}

function refFinalize(h: bigint): bigint {
  const lo = refFmix32((h & M32) ^ (h >> 32n));
  const hi = refFmix32((h >> 32n) ^ lo);
  return (hi << 32n) | lo;
}

const refHash = (bytes: Uint8Array) => refFinalize(refFnv(bytes));

function le64(x: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, x));
  return b;
}

const refDevino = (root: string, ino: bigint) => refFinalize(refFnv(le64(ino), refHash(Buffer.from(root))));

const refFold = (h: bigint) => (((h & M32) ^ (h >> 32n)) * 0x9e3779b9n) & M32;

const nz = (h: bigint) => (h === 0n ? 1n : h);

/** A small deterministic PRNG (mulberry32) for property-style checks. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the primitive ----

test('fnv1a64 matches the published FNV-1a 64 test vectors', (t) => {
  t.is(fnv1a64(Buffer.from('')), 0xcbf29ce484222325n);
  t.is(fnv1a64(Buffer.from('a')), 0xaf63dc4c8601ec8cn);
  t.is(fnv1a64(Buffer.from('foobar')), 0x85944171f73967e8n);
});

test('fnv1a64 and hash64 agree with a BigInt model on random inputs', (t) => {
  const r = rng(42);
  for (let n = 0; n < 300; n++) {
    const bytes = Buffer.alloc(Math.floor(r() * 70));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    t.is(fnv1a64(bytes), refFnv(bytes));
    t.is(hash64(bytes), refHash(bytes));
  }
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = 255 - i;
  t.is(hash64(all), refHash(all));
});

test('every mode agrees with the BigInt model', (t) => {
  const r = rng(7);
  for (let n = 0; n < 200; n++) {
    const rel = Buffer.from(`dir${Math.floor(r() * 1e6)}/f${n}`);
    const ino = BigInt(Math.floor(r() * 2 ** 32)) * BigInt(Math.floor(r() * 2 ** 32)) + BigInt(n);
    const root = `/mnt/d${n % 5}`;
    for (const isDir of [false, true]) {
      const i = input({ branchRoot: root, relPath: rel, ino, isDir });
      const ph = nz(refHash(rel));
      const dh = nz(refDevino(root, ino));
      t.is(inodeCalc('passthrough', i), nz(ino));
      t.is(inodeCalc('path-hash', i), ph);
      t.is(inodeCalc('path-hash32', i), nz(refFold(refHash(rel))));
      t.is(inodeCalc('devino-hash', i), dh);
      t.is(inodeCalc('devino-hash32', i), nz(refFold(refDevino(root, ino))));
      t.is(inodeCalc('hybrid-hash', i), isDir ? ph : dh);
      t.is(inodeCalc('hybrid-hash32', i), nz(refFold(isDir ? refHash(rel) : refDevino(root, ino))));
    }
  }
});

// ---- pinned values: if one of these changes, st_ino changes for every user ----

test('golden values (the algorithm must never change)', (t) => {
  const file = input();
  const dir = input({ relPath: Buffer.from('movies'), ino: 2n, isDir: true });
  const rootDir = input({ relPath: Buffer.alloc(0), ino: 2n, isDir: true, branchRoot: '/srv/b0' });
  const golden: Record<InodeCalcMode, [bigint, bigint, bigint]> = {
    passthrough: [131073n, 2n, 2n],
    'path-hash': [0xc06979520af03862n, 0xefc1af22fc834589n, 0x5ef66c9fc610ff71n],
    'path-hash32': [0x79dfcbb0n, 0x81036893n, 0x26ae64fen],
    'devino-hash': [0xf1b17629c58cff98n, 0x77de6e2af0295648n, 0xbd6cc02c5a893b64n],
    'devino-hash32': [0xa99429e9n, 0xb45c10d2n, 0xb56f9f08n],
    'hybrid-hash': [0xf1b17629c58cff98n, 0xefc1af22fc834589n, 0x5ef66c9fc610ff71n],
    'hybrid-hash32': [0xa99429e9n, 0x81036893n, 0x26ae64fen],
  };
  for (const mode of INODECALC_MODES) {
    t.deepEqual([inodeCalc(mode, file), inodeCalc(mode, dir), inodeCalc(mode, rootDir)], golden[mode], mode);
  }
  t.is(hash64(Buffer.from('')), 0x5ef66c9fc610ff71n);
  t.is(hash64(Buffer.from('movies/a.mkv')), 0xc06979520af03862n);
  t.is(inodeCalc('devino-hash', input({ branchRoot: '/mnt/disk2', ino: 1n })), 0x1ee6183a54cab1b2n);
});

// ---- properties ----

test('deterministic: same input, same output, across calls and interleavings', (t) => {
  for (const mode of INODECALC_MODES) {
    const a = inodeCalc(mode, input());
    inodeCalc(mode, input({ branchRoot: '/other', relPath: Buffer.from('zzz'), ino: 99n }));
    t.is(inodeCalc(mode, input()), a, mode);
    t.is(inodeCalcFor(mode)(input()), a, mode);
    // a fresh, equal Buffer and a fresh, equal root string
    t.is(inodeCalc(mode, input({ relPath: Buffer.from('movies/a.mkv'), branchRoot: ['/mnt', 'disk1'].join('/') })), a, mode);
  }
});

test('devino-hash: hard links on one branch share st_ino', (t) => {
  for (const mode of ['devino-hash', 'devino-hash32', 'hybrid-hash', 'hybrid-hash32'] as const) {
    const a = inodeCalc(mode, input({ relPath: Buffer.from('a/one'), ino: 555n }));
    const b = inodeCalc(mode, input({ relPath: Buffer.from('b/two'), ino: 555n }));
    t.is(a, b, mode);
    t.not(a, inodeCalc(mode, input({ relPath: Buffer.from('a/one'), ino: 556n })), mode);
  }
});

test('devino-hash: the same inode number on two branches differs; st_dev does not matter', (t) => {
  const on1 = inodeCalc('devino-hash', input({ branchRoot: '/mnt/disk1', ino: 12n }));
  t.not(on1, inodeCalc('devino-hash', input({ branchRoot: '/mnt/disk2', ino: 12n })));
  t.is(on1, inodeCalc('devino-hash', input({ branchRoot: '/mnt/disk1', ino: 12n, dev: 77n })), 'seeded by the branch path, not st_dev');
});

test('path-hash: the same path on two branches shares st_ino; inode and dev do not matter', (t) => {
  for (const mode of ['path-hash', 'path-hash32'] as const) {
    const a = inodeCalc(mode, input({ branchRoot: '/mnt/disk1', ino: 10n, dev: 1n }));
    const b = inodeCalc(mode, input({ branchRoot: '/mnt/disk2', ino: 20n, dev: 2n }));
    t.is(a, b, mode);
    t.not(a, inodeCalc(mode, input({ relPath: Buffer.from('movies/b.mkv') })), mode);
  }
});

test('hybrid-hash: path-hash for directories, devino-hash for everything else', (t) => {
  const dirA = input({ branchRoot: '/mnt/disk1', relPath: Buffer.from('shows'), ino: 5n, isDir: true });
  const dirB = input({ branchRoot: '/mnt/disk2', relPath: Buffer.from('shows'), ino: 9n, isDir: true });
  t.is(inodeCalc('hybrid-hash', dirA), inodeCalc('hybrid-hash', dirB), 'a directory on two branches is one directory');
  t.is(inodeCalc('hybrid-hash', dirA), inodeCalc('path-hash', dirA));
  t.is(inodeCalc('hybrid-hash32', dirA), inodeCalc('path-hash32', dirA));
  const fileA = { ...dirA, isDir: false };
  const fileB = { ...dirB, isDir: false };
  t.not(inodeCalc('hybrid-hash', fileA), inodeCalc('hybrid-hash', fileB), 'two files with one name on two branches differ');
  t.is(inodeCalc('hybrid-hash', fileA), inodeCalc('devino-hash', fileA));
  t.is(inodeCalc('hybrid-hash32', fileA), inodeCalc('devino-hash32', fileA));
  t.is(DEFAULT_INODECALC, 'hybrid-hash');
});

test('32-bit variants stay below 2^32, 64-bit ones below 2^64, none is 0', (t) => {
  const r = rng(1);
  for (let n = 0; n < 2000; n++) {
    const i = input({ relPath: Buffer.from(`p/${n}/${r()}`), ino: BigInt(n), isDir: n % 3 === 0, branchRoot: `/b${n % 4}` });
    for (const mode of INODECALC_MODES) {
      const v = inodeCalc(mode, i);
      t.true(v > 0n, mode);
      t.true(v < (mode.endsWith('32') ? TWO32 : TWO64), mode);
    }
  }
});

test('never 0: passthrough maps ino 0 to 1 (a hash of 0 is remapped the same way, but no preimage is known); ino wraps like ino_t', (t) => {
  t.is(inodeCalc('passthrough', input({ ino: 0n })), 1n);
  t.is(inodeCalc('passthrough', input({ ino: 1n })), 1n);
  t.is(inodeCalc('passthrough', input({ ino: 2n ** 64n - 1n })), 2n ** 64n - 1n);
  // ino wraps like ino_t: -1 is 2^64-1
  t.is(inodeCalc('devino-hash', input({ ino: -1n })), inodeCalc('devino-hash', input({ ino: 2n ** 64n - 1n })));
});

test('no collisions among 20000 sibling paths and 20000 consecutive inodes (64 and 32 bits)', (t) => {
  const seen = new Map<string, Set<bigint>>();
  for (const mode of ['path-hash', 'path-hash32', 'devino-hash', 'devino-hash32'] as const) seen.set(mode, new Set());
  for (let n = 0; n < 20000; n++) {
    const i = input({ relPath: Buffer.from(`photos/IMG_${String(n).padStart(5, '0')}.jpg`), ino: 1_000_000n + BigInt(n) });
    for (const [mode, set] of seen) set.add(inodeCalc(mode as InodeCalcMode, i));
  }
  for (const [mode, set] of seen) {
    // 20000 values in 2^32: P(any collision) ≈ 4.7%, so allow one; 64 bits must be perfect.
    t.true(set.size >= (mode.endsWith('32') ? 19999 : 20000), `${mode}: ${set.size}`);
  }
});

test('relPath is hashed as bytes, including non-UTF-8 names', (t) => {
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1, invalid UTF-8
  const utf8 = Buffer.from('café');
  t.not(inodeCalc('path-hash', input({ relPath: latin1 })), inodeCalc('path-hash', input({ relPath: utf8 })));
  t.is(inodeCalc('path-hash', input({ relPath: latin1 })), nz(refHash(latin1)));
  const slice = Buffer.from('xxmovies/a.mkvyy').subarray(2, 14);
  t.is(inodeCalc('path-hash', input({ relPath: slice })), inodeCalc('path-hash', input()), 'a subarray hashes its own bytes only');
});

test('modes: list, validation and unknown-mode errors', (t) => {
  t.deepEqual([...INODECALC_MODES], ['passthrough', 'path-hash', 'path-hash32', 'devino-hash', 'devino-hash32', 'hybrid-hash', 'hybrid-hash32']);
  for (const m of INODECALC_MODES) {
    t.true(isInodeCalcMode(m));
    t.is(parseInodeCalcMode(m), m);
  }
  for (const bad of ['', 'hybrid', 'PATH-HASH', 'path_hash', 'toString', '__proto__']) {
    t.false(isInodeCalcMode(bad), bad);
    const e = t.throws(() => parseInodeCalcMode(bad));
    t.true(e?.message.includes(`'${bad}'`));
    t.true(e?.message.includes('passthrough, path-hash, path-hash32, devino-hash, devino-hash32, hybrid-hash, hybrid-hash32'));
    t.throws(() => inodeCalc(bad as InodeCalcMode, input()), { message: /expected one of/ });
    t.throws(() => inodeCalcFor(bad as InodeCalcMode), { message: /expected one of/ });
  }
});
