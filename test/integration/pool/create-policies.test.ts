// Create policies (reference §2.3, §3.1): which branch a new file or
// directory lands on, checked on the branch directories themselves.
//
// Five tmpfs branches whose free and used space are made exact by a filler:
//
//   branch  mode  size  filled  avail  used  used%   why it is there
//   ro      RO     4M     0      4M     0     0     lfs/lus/lup would take it if RO were not excluded
//   nc      NC    64M     0     64M     0     0     mfs/lus/lup would take it if NC were not excluded
//   a       RW    44M     4M    40M     4M    9.1   most free, least used share  (mfs, lup)
//   b       RW     9M     3M     6M     3M   33.3   least free                   (lfs)
//   c       RW    12M     2M    10M     2M   16.7   least used                   (lus)
//
// and three directories that exercise the path rules:
//   ep/        on b and c only           ep* pick among b, c; the rest clone ep/ onto their pick
//   msp/deep/  on ro and nc only         ep* → EROFS (RO/NC excluded, others lack it);
//   msp/       on b, c, ro, nc           msp* walk up to msp/ and pick among b, c
//
// Every branch has its own minfreespace (1M) so the global default (4G)
// does not exclude everything; the global option has its own test.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { errnoOf, makeBranches, MiB, mountBraidfs, putDir, tree, type BranchDef, type Fixture } from './fixture.js';

const DEFS: readonly BranchDef[] = [
  { name: 'ro', size: 4, mode: 'RO', minfree: '1M' },
  { name: 'nc', size: 64, mode: 'NC', minfree: '1M' },
  { name: 'a', size: 44, fill: 4, minfree: '1M' },
  { name: 'b', size: 9, fill: 3, minfree: '1M' },
  { name: 'c', size: 12, fill: 2, minfree: '1M' },
];

function populate(fx: Fixture): void {
  for (const b of ['b', 'c']) putDir(fx, b, 'ep');
  for (const b of ['ro', 'nc']) putDir(fx, b, 'msp/deep');
  for (const b of ['b', 'c']) putDir(fx, b, 'msp');
  // newest: the parent's mtime decides (ro and nc are newer still, and excluded).
  const mtimes: Record<string, number> = { a: 1000, b: 3000, c: 2000, ro: 9000, nc: 8000 };
  for (const [b, mt] of Object.entries(mtimes)) {
    putDir(fx, b, 'new');
    utimesSync(fx.at(b, 'new'), mt, mt);
  }
}

function setup(t: ExecutionContext, defs: readonly BranchDef[] = DEFS): Fixture {
  const fx = makeBranches(t, defs, populate);
  return fx;
}

/** The fixture is what the table above says (a broken fixture must not look like a braidfs bug). */
function checkFixture(t: ExecutionContext, fx: Fixture): void {
  t.deepEqual(
    { a: fx.avail('a') / MiB, b: fx.avail('b') / MiB, c: fx.avail('c') / MiB },
    { a: 40, b: 6, c: 10 },
    'fixture: free space on a, b, c',
  );
}

/** Creates a file through the mount: the branches it landed on ('a', 'a,b') or the errno. */
function createFile(m: { path(...p: string[]): string }, fx: Fixture, rel: string): string {
  const e = errnoOf(() => writeFileSync(m.path(rel), ''));
  return e === 'OK' ? fx.where(rel).join(',') : e;
}

function makeDir(m: { path(...p: string[]): string }, fx: Fixture, rel: string): string {
  const e = errnoOf(() => mkdirSync(m.path(rel)));
  return e === 'OK' ? fx.where(rel).join(',') : e;
}

interface Landing {
  /** a file at the root */
  file: string;
  /** a directory at the root */
  dir: string;
  /** a file in ep/ (on b, c) */
  epFile: string;
  /** a directory in ep/ */
  epDir: string;
  /** a file in msp/deep/ (on ro, nc only) */
  mspFile: string;
}

const DETERMINISTIC: Readonly<Record<string, Landing>> = {
  ff: { file: 'a', dir: 'a', epFile: 'a', epDir: 'a', mspFile: 'a' },
  mfs: { file: 'a', dir: 'a', epFile: 'a', epDir: 'a', mspFile: 'a' },
  lfs: { file: 'b', dir: 'b', epFile: 'b', epDir: 'b', mspFile: 'b' },
  lus: { file: 'c', dir: 'c', epFile: 'c', epDir: 'c', mspFile: 'c' },
  lup: { file: 'a', dir: 'a', epFile: 'a', epDir: 'a', mspFile: 'a' },
  epff: { file: 'a', dir: 'a', epFile: 'b', epDir: 'b', mspFile: 'EROFS' },
  epmfs: { file: 'a', dir: 'a', epFile: 'c', epDir: 'c', mspFile: 'EROFS' },
  eplfs: { file: 'b', dir: 'b', epFile: 'b', epDir: 'b', mspFile: 'EROFS' },
  eplus: { file: 'c', dir: 'c', epFile: 'c', epDir: 'c', mspFile: 'EROFS' },
  // eplup is braidfs's own (mergerfs 2.42 has lup but no eplup): lup over branches holding the parent.
  eplup: { file: 'a', dir: 'a', epFile: 'c', epDir: 'c', mspFile: 'EROFS' },
  mspmfs: { file: 'a', dir: 'a', epFile: 'c', epDir: 'c', mspFile: 'c' },
  msplfs: { file: 'b', dir: 'b', epFile: 'b', epDir: 'b', mspFile: 'b' },
  msplus: { file: 'c', dir: 'c', epFile: 'c', epDir: 'c', mspFile: 'c' },
  // all: mkdir on every eligible branch, a file only on the first of them.
  all: { file: 'a', dir: 'a,b,c', epFile: 'a', epDir: 'a,b,c', mspFile: 'a' },
  epall: { file: 'a', dir: 'a,b,c', epFile: 'b', epDir: 'b,c', mspFile: 'EROFS' },
};

for (const [policy, expected] of Object.entries(DETERMINISTIC)) {
  test.serial(`category.create=${policy}: files and directories land where the policy says; RO and NC never get one`, async (t) => {
    const fx = setup(t);
    checkFixture(t, fx);
    const before = { ro: tree(fx.dir('ro')), nc: tree(fx.dir('nc')) };
    const m = await mountBraidfs(t, fx, [`category.create=${policy}`]);
    const got: Landing = {
      file: createFile(m, fx, 'f'),
      dir: makeDir(m, fx, 'd'),
      epFile: createFile(m, fx, 'ep/f'),
      epDir: makeDir(m, fx, 'ep/d'),
      mspFile: createFile(m, fx, 'msp/deep/f'),
    };
    t.deepEqual(got, expected, `where creates landed with category.create=${policy}`);
    t.deepEqual({ ro: tree(fx.dir('ro')), nc: tree(fx.dir('nc')) }, before, 'RO and NC branches unchanged');
    // A non-ep policy that picked a branch without the parent cloned the parent there.
    if (expected.epFile === 'a') t.true(fx.where('ep').includes('a'), 'ep/ cloned onto a');
    if (expected.mspFile !== 'EROFS') t.true(fx.where(`msp/deep`).includes(expected.mspFile.split(',')[0]!), 'msp/deep cloned onto the pick');
  });
}

test.serial('category.create=newest: the branch whose parent directory has the newest mtime (RO/NC excluded)', async (t) => {
  const fx = setup(t);
  const m = await mountBraidfs(t, fx, ['category.create=newest']);
  t.is(createFile(m, fx, 'new/f'), 'b');
  t.is(makeDir(m, fx, 'new/d'), 'b');
  // msp/deep exists only on RO/NC: nothing qualifies.
  t.is(createFile(m, fx, 'msp/deep/f'), 'EROFS');
});

test.serial('category.create=erofs: every create is refused with EROFS', async (t) => {
  const fx = setup(t);
  const m = await mountBraidfs(t, fx, ['category.create=erofs']);
  t.is(createFile(m, fx, 'f'), 'EROFS');
  t.is(makeDir(m, fx, 'd'), 'EROFS');
});

/** Creates `n` files named `${prefix}${i}` in `dir` and counts where each landed. */
function spread(m: { path(...p: string[]): string }, fx: Fixture, dir: string, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const rel = dir ? `${dir}/r${i}` : `r${i}`;
    const at = createFile(m, fx, rel);
    counts.set(at, (counts.get(at) ?? 0) + 1);
  }
  return counts;
}

const keys = (m: Map<string, number>): string[] => [...m.keys()].sort();

test.serial('category.create=rand: uniform over the eligible branches (a, b, c), never RO/NC', async (t) => {
  const fx = setup(t);
  const m = await mountBraidfs(t, fx, ['category.create=rand']);
  const counts = spread(m, fx, '', 90);
  t.deepEqual(keys(counts), ['a', 'b', 'c'], `landings: ${JSON.stringify([...counts])}`);
  // Uniform: each ≈ 30 (σ ≈ 4.5), so 10..50 holds with ~4σ to spare; free-space
  // weighting (pfrd) would give a ≈ 64 and b ≈ 10.
  for (const b of ['a', 'b', 'c']) {
    const n = counts.get(b) ?? 0;
    t.true(n >= 10 && n <= 50, `${b} got ${n} of 90; uniform wants about 30: ${JSON.stringify([...counts])}`);
  }
});

test.serial('category.create=eprand: uniform over the branches holding the parent (b, c)', async (t) => {
  const fx = setup(t);
  const m = await mountBraidfs(t, fx, ['category.create=eprand']);
  const counts = spread(m, fx, 'ep', 60);
  t.deepEqual(keys(counts), ['b', 'c'], `landings: ${JSON.stringify([...counts])}`);
});

test.serial('category.create=pfrd: weighted by free space, 200 creates favour the biggest (a: 40M of 56M)', async (t) => {
  const fx = setup(t);
  checkFixture(t, fx);
  // Defaults: pfrd is the default create policy; say it anyway.
  const m = await mountBraidfs(t, fx, ['category.create=pfrd']);
  const counts = spread(m, fx, '', 200);
  t.deepEqual(keys(counts), ['a', 'b', 'c'], `only RW branches, each at least once: ${JSON.stringify([...counts])}`);
  // Expected a ≈ 143 (σ ≈ 6.4), b ≈ 21, c ≈ 36; 110 is five σ below a's mean.
  const a = counts.get('a') ?? 0;
  t.true(a > 110, `a got ${a} of 200`);
  t.true(a > (counts.get('b') ?? 0) && a > (counts.get('c') ?? 0), `a is the most chosen: ${JSON.stringify([...counts])}`);
});

test.serial('default create policy is pfrd (weighted random, not always the same branch)', async (t) => {
  const fx = setup(t);
  const m = await mountBraidfs(t, fx, []);
  const counts = spread(m, fx, '', 100);
  t.true(keys(counts).every((k) => ['a', 'b', 'c'].includes(k)), JSON.stringify([...counts]));
  t.true((counts.get('a') ?? 0) > 50, `a got ${counts.get('a') ?? 0} of 100 (expected ≈ 71)`);
  t.true(counts.size >= 2, `more than one branch chosen: ${JSON.stringify([...counts])}`);
});

test.serial('category.create=eppfrd: weighted among the branches holding the parent (b, c)', async (t) => {
  const fx = setup(t);
  const m = await mountBraidfs(t, fx, ['category.create=eppfrd']);
  const counts = spread(m, fx, 'ep', 100);
  t.deepEqual(keys(counts), ['b', 'c'], JSON.stringify([...counts]));
});

test.serial('category.create=msppfrd: walks up from msp/deep (RO/NC only) to msp/ and picks b or c', async (t) => {
  const fx = setup(t);
  // Each file goes into its own directory that only ro and nc hold: once a
  // create has cloned a directory onto b or c, later creates in it would
  // follow it there (the ep-step succeeds), which is not the walk under test.
  for (let i = 0; i < 60; i++) for (const b of ['ro', 'nc']) putDir(fx, b, `msp/w${i}`);
  const m = await mountBraidfs(t, fx, ['category.create=msppfrd']);
  const counts = new Map<string, number>();
  for (let i = 0; i < 60; i++) {
    const at = createFile(m, fx, `msp/w${i}/f`);
    counts.set(at, (counts.get(at) ?? 0) + 1);
  }
  t.deepEqual(keys(counts), ['b', 'c'], JSON.stringify([...counts]));
});

// --- minfreespace -----------------------------------------------------------------

test.serial('per-branch minfreespace excludes a branch with less free space (a=RW,41M has 40M)', async (t) => {
  const defs = DEFS.map((d) => (d.name === 'a' ? { ...d, minfree: '41M' } : d));
  const fx = setup(t, defs);
  const mfs = await mountBraidfs(t, fx, ['category.create=mfs']);
  t.is(createFile(mfs, fx, 'f-mfs'), 'c', 'mfs: a is excluded, c (10M) has the most left');
  await mfs.unmount();
  const ff = await mountBraidfs(t, fx, ['category.create=ff']);
  t.is(createFile(ff, fx, 'f-ff'), 'b', 'ff: a is excluded, b is the first eligible');
});

test.serial('global -o minfreespace=7M excludes b (6M free); a per-branch value overrides it', async (t) => {
  // a, b, c without their own value: the global one applies.
  const defs = DEFS.map((d) => (['a', 'b', 'c'].includes(d.name) ? { name: d.name, size: d.size, ...(d.fill ? { fill: d.fill } : {}) } : d));
  const fx = setup(t, defs);
  const lfs = await mountBraidfs(t, fx, ['minfreespace=7M', 'category.create=lfs']);
  t.is(createFile(lfs, fx, 'f-lfs'), 'c', 'lfs: b (6M < 7M) is excluded, c (10M) is the least free');
  await lfs.unmount();
  const over = DEFS.map((d) => (d.name === 'a' ? { name: 'a', size: 44, fill: 4, minfree: '41M' } : ['b', 'c'].includes(d.name) ? { name: d.name, size: d.size, ...(d.fill ? { fill: d.fill } : {}) } : d));
  const fx2 = makeBranches(t, over);
  const ff = await mountBraidfs(t, fx2, ['minfreespace=7M', 'category.create=ff']);
  t.is(createFile(ff, fx2, 'f-ff'), 'c', 'ff: a (41M per-branch) and b (7M global) excluded');
});

test.serial('default global minfreespace is 4G: small branches without their own value take nothing (ENOSPC)', async (t) => {
  const fx = makeBranches(t, [
    { name: 'a', size: 8 },
    { name: 'b', size: 8 },
  ]);
  const m = await mountBraidfs(t, fx, ['category.create=ff']);
  t.is(createFile(m, fx, 'f'), 'ENOSPC');
  t.is(makeDir(m, fx, 'd'), 'ENOSPC');
});

// --- the error the caller sees when no branch qualifies (EROFS > ENOSPC > ENOENT) -------

const errorCases: ReadonlyArray<{ title: string; defs: BranchDef[]; policy: string; parent?: { dir: string; on: string[] }; want: string }> = [
  {
    title: 'every branch RO → EROFS',
    defs: [
      { name: 'x', size: 8, mode: 'RO', minfree: '1M' },
      { name: 'y', size: 8, mode: 'RO', minfree: '1M' },
    ],
    policy: 'mfs',
    want: 'EROFS',
  },
  {
    title: 'every branch full (below its minfreespace) → ENOSPC',
    defs: [
      { name: 'x', size: 8, minfree: '1G' },
      { name: 'y', size: 8, minfree: '1G' },
    ],
    policy: 'mfs',
    want: 'ENOSPC',
  },
  {
    title: 'one RO and one full → EROFS (EROFS outranks ENOSPC)',
    defs: [
      { name: 'x', size: 8, minfree: '1G' },
      { name: 'y', size: 8, mode: 'RO', minfree: '1M' },
    ],
    policy: 'ff',
    want: 'EROFS',
  },
  {
    title: 'one NC and one full → EROFS (NC counts as read-only for create)',
    defs: [
      { name: 'x', size: 8, mode: 'NC', minfree: '1M' },
      { name: 'y', size: 8, minfree: '1G' },
    ],
    policy: 'lfs',
    want: 'EROFS',
  },
  {
    title: 'epff: parent only on a full branch, the other lacks it → ENOSPC (outranks ENOENT)',
    defs: [
      { name: 'x', size: 8, minfree: '1M' },
      { name: 'y', size: 8, minfree: '1G' },
    ],
    policy: 'epff',
    parent: { dir: 'p', on: ['y'] },
    want: 'ENOSPC',
  },
];

for (const c of errorCases) {
  test.serial(`create error: ${c.title}`, async (t) => {
    const fx = makeBranches(t, c.defs, (f) => {
      if (c.parent) for (const b of c.parent.on) putDir(f, b, c.parent.dir);
    });
    const m = await mountBraidfs(t, fx, [`category.create=${c.policy}`]);
    const dir = c.parent?.dir ?? '';
    const rel = (n: string): string => (dir ? `${dir}/${n}` : n);
    t.is(createFile(m, fx, rel('f')), c.want, 'create (open O_CREAT)');
    t.is(makeDir(m, fx, rel('d')), c.want, 'mkdir');
    t.is(errnoOf(() => writeFileSync(m.path(rel('g')), 'x', { flag: 'wx' })), c.want, 'open O_CREAT|O_EXCL');
    for (const d of c.defs) t.deepEqual(readdirSync(fx.dir(d.name)).filter((n) => n !== c.parent?.dir), [], `nothing created on ${d.name}`);
  });
}
