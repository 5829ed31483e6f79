// Side by side with Debian's mergerfs (2.33.5, /usr/bin/mergerfs): one
// scenario (mkdir, create, write, chmod, rename, link, unlink, rmdir, stat,
// readdir, … over branches that include a full one, an NC and an RO one, of
// different sizes) runs against mergerfs and against braidfs with the SAME
// options, on two identical sets of tmpfs branches. For every step the
// record holds the errno (or OK), what the step observed (stat, listing,
// content) and how the branch directories changed (every path added or
// removed on every branch, with type, size, mode and link count). The two
// records must be equal.
//
// Policies are set explicitly, since 2.33's defaults differ from 2.42's
// (create epmfs vs pfrd), and only deterministic ones are used so landing
// places are comparable. Where braidfs follows mergerfs 2.42 and 2.42
// differs from 2.33 on purpose, the step is listed in INTENTIONAL with the
// reason and left out of the comparison (and only that step).
import test, { type ExecutionContext } from 'ava';
import { chmodSync, closeSync, constants, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { errnoOf, FILL, makeBranches, mountBraidfs, mountMergerfs, put, putDir, tree, truncatePath, type BranchDef, type Fixture } from './fixture.js';

//   branch  mode  size  filled  avail  used    role
//   e       RW     8M     0      8M     0      own minfreespace 1G: never takes a create, but actions reach it
//   a       RW    21M     1M    20M     1M     first eligible (ff), least used (lus)
//   b       RW    34M     4M    30M     4M     most free (mfs)
//   c       RW    13M     3M    10M     3M     least free (lfs)
//   nc      NC    64M     0     64M     0      never takes a create
//   ro      RO     8M     0      8M     0      never acted on
// The global minfreespace (1M, given as -o to both) applies to all but e.
const DEFS: readonly BranchDef[] = [
  { name: 'e', size: 8, minfree: '1G' },
  { name: 'a', size: 21, fill: 1 },
  { name: 'b', size: 34, fill: 4 },
  { name: 'c', size: 13, fill: 3 },
  { name: 'nc', size: 64, mode: 'NC' },
  { name: 'ro', size: 8, mode: 'RO' },
];

function populate(fx: Fixture): void {
  for (const b of ['e', 'a', 'b', 'c', 'nc', 'ro']) putDir(fx, b, 'shared');
  put(fx, 'a', 'shared/a.txt', 'aaa');
  put(fx, 'b', 'shared/b.txt', 'bbbb');
  put(fx, 'b', 'onlyB/x', 'x');
  putDir(fx, 'c', 'onlyC');
  putDir(fx, 'e', 'onlyE');
  put(fx, 'e', 'dup', 'e-version');
  put(fx, 'c', 'dup', 'c-version-longer');
  put(fx, 'ro', 'dup', 'ro-version');
  put(fx, 'nc', 'onlyNC/n', 'n');
  put(fx, 'ro', 'onlyRO/r.txt', 'r');
  put(fx, 'ro', 'rofile', 'ro');
  put(fx, 'a', 'mixed/m', 'm-a');
  put(fx, 'ro', 'mixed/m', 'm-ro');
  putDir(fx, 'a', 'rmE');
  putDir(fx, 'b', 'rmE');
  putDir(fx, 'a', 'rmNE');
  put(fx, 'c', 'rmNE/z', 'z');
  // Names whose copies disagree on type: the per-branch results of one
  // rmdir / unlink differ, so the fold rule decides what the caller sees.
  putDir(fx, 'e', 'mixR');
  put(fx, 'a', 'mixR', 'file');
  putDir(fx, 'b', 'mixR');
  put(fx, 'e', 'mixU', 'file');
  putDir(fx, 'a', 'mixU');
}

type Step =
  | { op: 'mkdir'; path: string }
  | { op: 'create'; path: string; data: string }
  | { op: 'write'; path: string; data: string }
  | { op: 'read'; path: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'rename'; from: string; to: string }
  | { op: 'link'; from: string; to: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'unlink'; path: string }
  | { op: 'rmdir'; path: string }
  | { op: 'stat'; path: string }
  | { op: 'readdir'; path: string };

const SCENARIO: readonly Step[] = [
  { op: 'mkdir', path: 'd1' },
  { op: 'create', path: 'd1/f1', data: 'hello' },
  { op: 'create', path: 'top1', data: 't' },
  { op: 'mkdir', path: 'd1/sub' },
  { op: 'create', path: 'd1/sub/f2', data: 'f2' },
  { op: 'stat', path: 'd1/f1' },
  { op: 'write', path: 'd1/f1', data: ' world' },
  { op: 'read', path: 'd1/f1' },
  { op: 'chmod', path: 'd1/f1', mode: 0o600 },
  { op: 'stat', path: 'd1/f1' },
  { op: 'rename', from: 'd1/f1', to: 'd1/f1r' },
  { op: 'rename', from: 'd1/f1r', to: 'onlyB/f1r' },
  { op: 'link', from: 'd1/sub/f2', to: 'd1/f2link' },
  { op: 'link', from: 'd1/sub/f2', to: 'onlyC/f2link' },
  { op: 'stat', path: 'd1/sub/f2' },
  { op: 'unlink', path: 'd1/f2link' },
  { op: 'create', path: 'onlyRO/new', data: 'n' },
  { op: 'create', path: 'onlyNC/new', data: 'n' },
  { op: 'create', path: 'onlyE/new', data: 'n' },
  { op: 'mkdir', path: 'shared/sd' },
  { op: 'create', path: 'shared/sf', data: 's' },
  { op: 'create', path: 'shared/sf', data: 'again' },
  { op: 'unlink', path: 'rofile' },
  { op: 'chmod', path: 'rofile', mode: 0o600 },
  { op: 'write', path: 'rofile', data: '+w' },
  { op: 'read', path: 'rofile' },
  { op: 'chmod', path: 'dup', mode: 0o600 },
  { op: 'stat', path: 'dup' },
  { op: 'unlink', path: 'dup' },
  { op: 'stat', path: 'dup' },
  { op: 'read', path: 'dup' },
  { op: 'truncate', path: 'mixed/m', size: 1 },
  { op: 'stat', path: 'mixed/m' },
  { op: 'rmdir', path: 'rmE' },
  { op: 'rmdir', path: 'rmNE' },
  { op: 'rmdir', path: 'onlyRO' },
  { op: 'rmdir', path: 'd1/sub' },
  { op: 'rmdir', path: 'mixR' },
  { op: 'unlink', path: 'mixU' },
  { op: 'symlink', target: '../top1', path: 'd1/lnk' },
  { op: 'read', path: 'd1/lnk' },
  { op: 'readdir', path: '' },
  { op: 'readdir', path: 'd1' },
  { op: 'readdir', path: 'shared' },
  { op: 'rename', from: 'top1', to: 'dup' },
  { op: 'stat', path: 'dup' },
  { op: 'read', path: 'dup' },
  { op: 'unlink', path: 'd1/sub/f2' },
  { op: 'rmdir', path: 'd1/sub' },
  { op: 'mkdir', path: 'onlyB/nd' },
  { op: 'rename', from: 'onlyB', to: 'onlyB2' },
  { op: 'readdir', path: 'onlyB2' },
  { op: 'mkdir', path: 'shared' },
  { op: 'rmdir', path: 'nowhere' },
  { op: 'unlink', path: 'nowhere' },
  { op: 'stat', path: 'nowhere' },
  { op: 'rename', from: 'nowhere', to: 'elsewhere' },
  { op: 'create', path: 'nowhere/f', data: '' },
];

function describe(s: Step): string {
  switch (s.op) {
    case 'rename':
    case 'link':
      return `${s.op} ${s.from} ${s.to}`;
    case 'symlink':
      return `symlink ${s.target} ${s.path}`;
    case 'chmod':
      return `chmod ${s.path} ${s.mode.toString(8)}`;
    case 'truncate':
      return `truncate ${s.path} ${s.size}`;
    case 'mkdir':
    case 'create':
    case 'write':
    case 'read':
    case 'unlink':
    case 'rmdir':
    case 'stat':
    case 'readdir':
      return `${s.op} ${s.path || '/'}`;
  }
}

const stepId = (i: number, s: Step): string => `${String(i + 1).padStart(2, '0')} ${describe(s)}`;

/** What a stat shows that both must agree on (no inode numbers, no times). */
function statLine(p: string): string {
  const st = lstatSync(p);
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
  return `${type} mode=${(st.mode & 0o7777).toString(8)}${type === 'd' ? '' : ` size=${st.size} nlink=${st.nlink}`}`;
}

/** Runs one step through the mount: [errno or OK, what it observed]. */
function perform(at: (rel: string) => string, s: Step): [string, string] {
  let seen = '';
  const result = errnoOf(() => {
    switch (s.op) {
      case 'mkdir':
        mkdirSync(at(s.path));
        return;
      case 'create':
        writeFileSync(at(s.path), s.data, { flag: 'wx' });
        return;
      case 'write': {
        const fd = openSync(at(s.path), constants.O_WRONLY | constants.O_APPEND);
        try {
          writeSync(fd, s.data);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 'read':
        seen = JSON.stringify(readFileSync(at(s.path), 'utf8'));
        return;
      case 'stat':
        seen = statLine(at(s.path));
        return;
      case 'chmod':
        chmodSync(at(s.path), s.mode);
        return;
      case 'truncate': {
        const r = truncatePath(at(s.path), s.size);
        if (r !== 'OK') throw Object.assign(new Error(r), { code: r });
        return;
      }
      case 'rename':
        renameSync(at(s.from), at(s.to));
        return;
      case 'link':
        linkSync(at(s.from), at(s.to));
        return;
      case 'symlink':
        symlinkSync(s.target, at(s.path));
        return;
      case 'unlink':
        unlinkSync(at(s.path));
        return;
      case 'rmdir':
        rmdirSync(at(s.path));
        return;
      case 'readdir':
        seen = readdirSync(at(s.path))
          .filter((n) => !(s.path === '' && n === FILL))
          .sort()
          .join(' ');
        return;
    }
  });
  return [result, seen];
}

/** Every path on every branch: `branch:rel type size mode nlink`. */
function snapshot(fx: Fixture): Set<string> {
  const out = new Set<string>();
  for (const d of fx.defs) for (const line of tree(fx.dir(d.name))) out.add(`${d.name}:${line}`);
  return out;
}

interface StepRecord {
  readonly id: string;
  readonly result: string;
  readonly seen: string;
  /** Branch changes: `-branch:path …` / `+branch:path …`, sorted. */
  readonly delta: readonly string[];
}

/** Runs the scenario through the mount; one record per step. */
function record(fx: Fixture, at: (rel: string) => string): StepRecord[] {
  const out: StepRecord[] = [];
  let before = snapshot(fx);
  SCENARIO.forEach((s, i) => {
    const [result, seen] = perform(at, s);
    const after = snapshot(fx);
    const added = [...after].filter((l) => !before.has(l)).map((l) => `+${l}`);
    const removed = [...before].filter((l) => !after.has(l)).map((l) => `-${l}`);
    before = after;
    out.push({ id: stepId(i, s), result, seen, delta: [...removed, ...added].sort() });
  });
  return out;
}

/** One line per step: `NN op args → ERRNO [observed] {branch changes}`. */
const line = (r: StepRecord): string => `${r.id} → ${r.result}${r.seen ? ` [${r.seen}]` : ''}${r.delta.length ? ` {${r.delta.join(' ; ')}}` : ''}`;

/**
 * Steps where braidfs follows mergerfs 2.42 and 2.42 changed 2.33's
 * behaviour on purpose (reference §1.2, §3.2). Each is left out of the
 * line-by-line comparison, and instead checked on its own: mergerfs 2.33
 * must give `mergerfs`, braidfs must give `braidfs`, and both must change
 * the branches the same way.
 */
const INTENTIONAL: ReadonlyArray<{ step: string; mergerfs: string; braidfs: string; reason: string }> = [
  {
    step: 'rmdir mixR',
    mergerfs: 'ENOTDIR',
    braidfs: 'OK',
    reason:
      'rmdir on e (empty dir: ok), a (a file: ENOTDIR), b (empty dir: ok). 2.33 keeps the first error of the loop ' +
      '(fuse_rmdir.cpp error::calc: "if(prev_ != 0) return prev_"); 2.42 makes only ENOTEMPTY/EEXIST sticky and ' +
      'otherwise reports the LAST branch’s result (b: ok) — the 2.42 rmdir rework braidfs follows',
  },
  {
    step: 'unlink mixU',
    mergerfs: 'EISDIR',
    braidfs: 'OK',
    reason:
      'unlink on e (a file: ok) and a (a directory: EISDIR). 2.33 keeps the first error (fuse_unlink.cpp error::calc); ' +
      '2.42 reports success if any branch succeeded (the Err type in error.hpp) — braidfs follows 2.42',
  },
];

const stepName = (id: string): string => id.slice(3);

function commonOptions(create: string): string[] {
  return [
    `category.create=${create}`,
    'category.search=ff',
    'category.action=epall',
    'func.getattr=ff',
    'minfreespace=1M',
    'moveonenospc=false',
    'ignorepponrename=false',
    'link-exdev=passthrough',
    'rename-exdev=passthrough',
    'cache.attr=0',
    'cache.entry=0',
    'cache.negative_entry=0',
    'cache.files=off',
  ];
}

async function compare(t: ExecutionContext, create: string): Promise<void> {
  const options = commonOptions(create);

  const fxM = makeBranches(t, DEFS, populate);
  const mm = await mountMergerfs(t, fxM, options);
  const mergerfs = record(fxM, (rel) => mm.path(rel));
  await mm.unmount();

  const fxB = makeBranches(t, DEFS, populate);
  const mb = await mountBraidfs(t, fxB, options);
  const braidfs = record(fxB, (rel) => mb.path(rel));
  await mb.unmount();

  const intentional = (r: StepRecord): (typeof INTENTIONAL)[number] | undefined => INTENTIONAL.find((x) => x.step === stepName(r.id));
  const got = braidfs.filter((r) => !intentional(r)).map(line);
  const want = mergerfs.filter((r) => !intentional(r)).map(line);
  if (JSON.stringify(got) !== JSON.stringify(want)) t.log(`mergerfs 2.33 record, category.create=${create}:\n${mergerfs.map(line).join('\n')}`);
  t.deepEqual(got, want, `braidfs (actual) vs mergerfs 2.33 (expected), category.create=${create}`);
  for (const x of INTENTIONAL) {
    const m = mergerfs.find((r) => stepName(r.id) === x.step);
    const b = braidfs.find((r) => stepName(r.id) === x.step);
    if (!m || !b) {
      t.fail(`intentional difference '${x.step}' names no step of the scenario`);
      continue;
    }
    t.log(`intentional difference, ${x.step}: mergerfs 2.33 ${m.result}, braidfs ${b.result} — ${x.reason}`);
    t.is(m.result, x.mergerfs, `${x.step}: mergerfs 2.33 gives the 2.33 answer (else the reason above is wrong)`);
    t.is(b.result, x.braidfs, `${x.step}: braidfs gives the 2.42 answer`);
    t.deepEqual(b.delta, m.delta, `${x.step}: same branch changes`);
  }
}

for (const create of ['ff', 'epff', 'mfs', 'epmfs', 'lfs', 'lus']) {
  test.serial(`same scenario, same options, same record: braidfs vs mergerfs 2.33 with category.create=${create}`, async (t) => {
    await compare(t, create);
  });
}

test.serial('the scenario itself is meaningful: mergerfs lands creates on different branches under different policies', async (t) => {
  // A guard against a scenario that compares nothing: ff and mfs must differ somewhere.
  const fx1 = makeBranches(t, DEFS, populate);
  const m1 = await mountMergerfs(t, fx1, commonOptions('ff'));
  const ff = record(fx1, (rel) => m1.path(rel));
  await m1.unmount();
  const fx2 = makeBranches(t, DEFS, populate);
  const m2 = await mountMergerfs(t, fx2, commonOptions('mfs'));
  const mfs = record(fx2, (rel) => m2.path(rel));
  await m2.unmount();
  t.notDeepEqual(ff.map(line), mfs.map(line));
  t.true(ff.map(line).some((l) => l.startsWith('02 create d1/f1 → OK') && l.includes('+a:d1/f1 ')), ff.map(line).join('\n'));
  t.true(mfs.map(line).some((l) => l.startsWith('02 create d1/f1 → OK') && l.includes('+b:d1/f1 ')), mfs.map(line).join('\n'));
});
