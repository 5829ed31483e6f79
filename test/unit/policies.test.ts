// Unit tests for the placement policies (policies/). Branches are stub
// Candidates and existence/mtimes come from a stub Probe, so nothing touches
// a filesystem; random() is injected, so weighted and uniform picks are exact.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { parentPath } from '../../policies/define.js';
import { filterReason, modeReason, stateReason, stronger, worst } from '../../policies/filters.js';
import type { Reason } from '../../policies/filters.js';
import {
  CATEGORIES,
  CATEGORY_FUNCTIONS,
  CATEGORY_OF,
  DEFAULT_POLICY,
  FUNCTION_NAMES,
  FunctionPolicies,
  getPolicy,
  POLICY_NAMES,
  policies,
} from '../../policies/index.js';
import { PolicyError } from '../../policies/types.js';
import type { BranchMode, Candidate, Category, Policy, Probe } from '../../policies/types.js';

// --- stubs ------------------------------------------------------------------------

interface BranchSpec {
  avail?: number;
  used?: number;
  mode?: BranchMode;
  min?: number;
  rofs?: boolean;
  down?: boolean;
}

/** Candidates in list order; defaults: RW, 100 bytes free, 100 used, minfreespace 0. */
function branches(...specs: BranchSpec[]): Candidate[] {
  return specs.map((s, index) => ({
    index,
    root: `/b${index}`,
    mode: s.mode ?? 'RW',
    minFreeSpace: s.min ?? 0,
    readOnlyFs: s.rofs ?? false,
    unavailable: s.down ?? false,
    spaceAvail: s.avail ?? 100,
    spaceUsed: s.used ?? 100,
  }));
}

const n = (count: number): Candidate[] => branches(...Array.from({ length: count }, () => ({})));

/**
 * `files` maps a relative path to the branches holding it, either a list of
 * indices or index → mtime. The root '' exists on every branch. Every probe
 * call is logged.
 */
class StubProbe implements Probe {
  readonly calls: { op: 'exists' | 'mtime'; branch: number; path: string }[] = [];
  constructor(private readonly files: Readonly<Record<string, readonly number[] | Readonly<Record<number, number>>>> = {}) {}

  #mtime(c: Candidate, path: string): number | undefined {
    if (path === '') return 0;
    const where = this.files[path];
    if (where === undefined) return undefined;
    if (Array.isArray(where)) return where.includes(c.index) ? 0 : undefined;
    return (where as Readonly<Record<number, number>>)[c.index];
  }

  async exists(c: Candidate, path: Buffer): Promise<boolean> {
    this.calls.push({ op: 'exists', branch: c.index, path: path.toString() });
    return this.#mtime(c, path.toString()) !== undefined;
  }

  async mtime(c: Candidate, path: Buffer): Promise<number | undefined> {
    this.calls.push({ op: 'mtime', branch: c.index, path: path.toString() });
    return this.#mtime(c, path.toString());
  }
}

interface RunOpts {
  path?: string;
  probe?: Probe;
  random?: () => number;
}

const fixed = (x: number) => (): number => x;

/** The chosen branch indices. */
async function pick(p: Policy | string, category: Category, cands: readonly Candidate[], o: RunOpts = {}): Promise<number[]> {
  const policy = typeof p === 'string' ? getPolicy(p) : p;
  const chosen = await policy.select({
    category,
    path: Buffer.from(o.path ?? 'd'),
    candidates: cands,
    probe: o.probe ?? new StubProbe({ d: cands.map((c) => c.index) }),
    random: o.random ?? fixed(0),
  });
  return chosen.map((c) => c.index);
}

async function fails(t: ExecutionContext, p: Policy | string, category: Category, cands: readonly Candidate[], code: Reason, o: RunOpts = {}): Promise<void> {
  const e = await t.throwsAsync(pick(p, category, cands, o), { instanceOf: PolicyError });
  t.is(e?.code, code, `${typeof p === 'string' ? p : p.name} ${category}`);
  // trySelect returns the same refusal instead of throwing it (not with the
  // caller's probe, whose counters the caller checks afterwards).
  if (o.probe) return;
  const policy = typeof p === 'string' ? getPolicy(p) : p;
  const tried = await policy.trySelect({
    category,
    path: Buffer.from(o.path ?? 'd'),
    candidates: cands,
    probe: new StubProbe({ d: cands.map((c) => c.index) }),
    random: o.random ?? fixed(0),
  });
  t.is(tried, code, `${policy.name} ${category}: trySelect`);
}

const ALL_CATEGORIES: readonly Category[] = ['create', 'action', 'search'];
const EXPECTED_NAMES = [
  'all', 'epall', 'epff', 'eplfs', 'eplup', 'eplus', 'epmfs', 'eppfrd', 'eprand', 'erofs', 'ff',
  'lfs', 'lup', 'lus', 'mfs', 'msplfs', 'msplus', 'mspmfs', 'msppfrd', 'newest', 'pfrd', 'rand',
];
const WORKING = EXPECTED_NAMES.filter((x) => x !== 'erofs');

/** Every ordering of a list (for "in any branch order"). */
function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

// --- filters ----------------------------------------------------------------------

test('filters: create excludes RO, NC, read-only fs, unavailable and below-minfreespace branches', (t) => {
  const [rw, ro, nc, rofs, down, low, exact] = branches(
    {}, { mode: 'RO' }, { mode: 'NC' }, { rofs: true }, { down: true }, { avail: 9, min: 10 }, { avail: 10, min: 10 },
  );
  if (!rw || !ro || !nc || !rofs || !down || !low || !exact) throw new Error('stub');
  t.is(filterReason('create', rw), undefined);
  t.is(filterReason('create', ro), 'EROFS');
  t.is(filterReason('create', nc), 'EROFS');
  t.is(filterReason('create', rofs), 'EROFS');
  t.is(filterReason('create', down), 'ENOSPC');
  t.is(filterReason('create', low), 'ENOSPC');
  t.is(filterReason('create', exact), undefined, 'exactly minfreespace is enough (skip only when below)');
});

test('filters: action excludes only RO mode and read-only filesystems; search excludes nothing', (t) => {
  const cs = branches({ mode: 'RO' }, { mode: 'NC' }, { rofs: true }, { down: true }, { avail: 0, min: 10 });
  t.deepEqual(cs.map((c) => filterReason('action', c)), ['EROFS', undefined, 'EROFS', undefined, undefined]);
  t.deepEqual(cs.map((c) => filterReason('search', c)), [undefined, undefined, undefined, undefined, undefined]);
});

test('filters: mode is checked before state (RO mode wins over a full disk for the reason)', (t) => {
  const [c] = branches({ mode: 'NC', avail: 0, min: 10 });
  if (!c) throw new Error('stub');
  t.is(modeReason('create', c), 'EROFS');
  t.is(stateReason('create', c), 'ENOSPC');
  t.is(filterReason('create', c), 'EROFS');
});

test('error precedence: start at ENOENT, EROFS > ENOSPC > ENOENT whatever the order', (t) => {
  t.is(worst([]), 'ENOENT');
  for (const order of permutations<Reason>(['EROFS', 'ENOSPC', 'ENOENT'])) t.is(worst(order), 'EROFS', order.join(','));
  for (const order of permutations<Reason>(['ENOSPC', 'ENOENT'])) t.is(worst(order), 'ENOSPC', order.join(','));
  t.is(worst(['ENOENT', 'ENOENT']), 'ENOENT');
  t.is(stronger('EROFS', 'ENOENT'), 'EROFS');
  t.is(stronger('ENOSPC', 'EROFS'), 'EROFS');
});

// --- error precedence through policies --------------------------------------------

test('all filtered: EROFS beats ENOSPC beats ENOENT in any branch order, for every create policy', async (t) => {
  const kinds: Record<string, BranchSpec> = { ro: { mode: 'RO' }, full: { avail: 1, min: 10 }, missing: {} };
  const cases: [string[], Reason][] = [
    [['ro', 'full', 'missing'], 'EROFS'],
    [['full', 'missing'], 'ENOSPC'],
    [['missing', 'missing'], 'ENOENT'],
  ];
  for (const [names, code] of cases) {
    for (const order of permutations(names)) {
      const cs = branches(...order.map((k) => kinds[k] ?? {}));
      // the path exists on every branch except the "missing" ones
      const probe = new StubProbe({ d: cs.filter((_, i) => order[i] !== 'missing').map((c) => c.index) });
      for (const name of ['epmfs', 'epff', 'eplus', 'eplup', 'eppfrd', 'eprand', 'newest', 'epall']) {
        await fails(t, name, 'create', cs, code, { probe });
      }
    }
  }
});

test('all filtered: the non-ep create policies report the filter reasons (no path check)', async (t) => {
  for (const order of permutations<BranchSpec>([{ mode: 'NC' }, { down: true }])) {
    for (const name of ['ff', 'mfs', 'lfs', 'lus', 'lup', 'pfrd', 'rand', 'all']) await fails(t, name, 'create', branches(...order), 'EROFS');
  }
  for (const name of ['ff', 'mfs', 'lfs', 'lus', 'lup', 'pfrd', 'rand', 'all']) {
    await fails(t, name, 'create', branches({ avail: 0, min: 1 }, { down: true }), 'ENOSPC');
    await fails(t, name, 'create', [], 'ENOENT');
  }
});

test('all filtered: the path is checked between mode and filesystem state, as mergerfs orders it', async (t) => {
  const probe = new StubProbe({ d: [] });
  // RO mode is seen before the path: EROFS even though the path is missing
  await fails(t, 'epmfs', 'create', branches({ mode: 'RO' }, {}), 'EROFS', { probe });
  // a read-only fs or a full disk is only seen where the path exists: ENOENT here
  await fails(t, 'epmfs', 'create', branches({ rofs: true }, { avail: 0, min: 5 }), 'ENOENT', { probe });
  await fails(t, 'epmfs', 'action', branches({ rofs: true }, {}), 'ENOENT', { probe });
  await fails(t, 'epmfs', 'action', branches({ rofs: true }, { mode: 'RO' }), 'EROFS');
});

test('action and search: nothing holding the path is ENOENT; action with only RO holders is EROFS', async (t) => {
  const probe = new StubProbe({ d: [0] });
  for (const name of WORKING) {
    await fails(t, name, 'search', n(2), 'ENOENT', { probe: new StubProbe() });
    await fails(t, name, 'action', n(2), 'ENOENT', { probe: new StubProbe() });
    await fails(t, name, 'action', branches({ mode: 'RO' }, {}), 'EROFS', { probe });
    await fails(t, name, 'action', branches({ rofs: true }, {}), 'EROFS', { probe });
  }
});

test('filters per category: NC, full and unavailable branches stay eligible for action; RO for search', async (t) => {
  const cs = branches({ mode: 'NC' }, { avail: 0, min: 10 }, { down: true }, { mode: 'RO' }, { rofs: true });
  t.deepEqual(await pick('all', 'create', [...cs, ...branches({})].map((c, index) => ({ ...c, index }))), [5]);
  t.deepEqual(await pick('all', 'action', cs), [0, 1, 2]);
  t.deepEqual(await pick('all', 'search', cs), [0, 1, 2, 3, 4]);
  t.deepEqual(await pick('ff', 'search', branches({ mode: 'RO' }, {})), [0]);
});

// --- the policies, one by one ---------------------------------------------------------

test('every policy in every category on one pool', async (t) => {
  // b0 NC, path missing; b1..b3 hold the path (b3 RO); b4 RW, path missing.
  const cs = branches(
    { mode: 'NC', avail: 1000, used: 10 },
    { avail: 100, used: 900 },
    { avail: 300, used: 300 },
    { mode: 'RO', avail: 50, used: 5 },
    { avail: 500, used: 500 },
  );
  const probe = new StubProbe({ d: { 1: 50, 2: 90, 3: 99 } });
  type Row = readonly [create: number[] | Reason, action: number[] | Reason, search: number[] | Reason];
  const same = (r: Row, ...names: string[]): [string, Row][] => names.map((x) => [x, r]);
  const table = new Map<string, Row>([
    ...same([[1], [1], [1]], 'ff', 'epff'),
    ['mfs', [[4], [2], [2]]],
    ...same([[2], [2], [2]], 'epmfs', 'mspmfs'),
    ...same([[1], [1], [3]], 'lfs', 'eplfs', 'msplfs'),
    ...same([[2], [2], [3]], 'lus', 'eplus', 'msplus', 'lup', 'eplup', 'newest'),
    ['pfrd', [[4], [2], [2]]], // create: threshold 450 of 900; action 200 of 400; search 225 of 450
    ...same([[2], [2], [2]], 'eppfrd', 'msppfrd', 'rand', 'eprand'),
    ['all', [[1, 2, 4], [1, 2], [1, 2, 3]]],
    ['epall', [[1, 2], [1, 2], [1, 2, 3]]],
    ['erofs', ['EROFS', 'EROFS', 'EROFS']],
  ]);
  t.deepEqual([...table.keys()].sort(), EXPECTED_NAMES);
  for (const [name, row] of table) {
    for (const [i, cat] of ALL_CATEGORIES.entries()) {
      const want = row[i];
      const o = { probe, random: fixed(0.5) };
      if (typeof want === 'string') await fails(t, name, cat, cs, want, o);
      else t.deepEqual(await pick(name, cat, cs, o), want, `${name} ${cat}`);
    }
  }
});


test('ff: create takes the first qualifying branch whether or not the parent exists there', async (t) => {
  const cs = branches({ mode: 'NC' }, { avail: 1, min: 5 }, {}, {});
  t.deepEqual(await pick('ff', 'create', cs, { probe: new StubProbe({ d: [3] }) }), [2]);
});

test('ff: search is the first branch holding the path, action the first non-RO one; probing stops there', async (t) => {
  const cs = branches({}, { mode: 'RO' }, {}, {});
  const probe = new StubProbe({ d: [1, 2, 3] });
  t.deepEqual(await pick('ff', 'search', cs, { probe }), [1]);
  t.deepEqual(probe.calls.map((c) => c.branch), [0, 1], 'search stops at the first hit');
  t.deepEqual(await pick('ff', 'action', cs, { probe }), [2]);
  t.deepEqual(await pick('epff', 'action', cs, { probe }), [2]);
  t.deepEqual(await pick('epff', 'create', cs, { probe }), [2]);
});

test('mfs: most available space; ties go to the later branch', async (t) => {
  t.deepEqual(await pick('mfs', 'create', branches({ avail: 10 }, { avail: 90 }, { avail: 50 })), [1]);
  t.deepEqual(await pick('mfs', 'create', branches({ avail: 90 }, { avail: 10 }, { avail: 90 })), [2]);
  t.deepEqual(await pick('mfs', 'create', branches({ avail: 10 }, { avail: 90, mode: 'RO' }, { avail: 50 })), [2]);
  const probe = new StubProbe({ d: [0, 2] });
  t.deepEqual(await pick('mfs', 'search', branches({ avail: 10 }, { avail: 90 }, { avail: 50 }), { probe }), [2], 'search = epmfs');
  t.deepEqual(await pick('mfs', 'action', branches({ avail: 10 }, { avail: 90 }, { avail: 50, mode: 'RO' }), { probe }), [0], 'action = epmfs');
});

test('lfs: least available space (above minfreespace); ties go to the later branch', async (t) => {
  t.deepEqual(await pick('lfs', 'create', branches({ avail: 50 }, { avail: 10 }, { avail: 90 })), [1]);
  t.deepEqual(await pick('lfs', 'create', branches({ avail: 10 }, { avail: 50 }, { avail: 10 })), [2]);
  t.deepEqual(await pick('lfs', 'create', branches({ avail: 50 }, { avail: 10, min: 20 }, { avail: 90 })), [0]);
  const probe = new StubProbe({ d: [0, 2] });
  t.deepEqual(await pick('lfs', 'search', branches({ avail: 50 }, { avail: 10 }, { avail: 90 }), { probe }), [0], 'search = eplfs');
});

test('lus: least used space; ties go to the first branch', async (t) => {
  t.deepEqual(await pick('lus', 'create', branches({ used: 50 }, { used: 10 }, { used: 90 })), [1]);
  t.deepEqual(await pick('lus', 'create', branches({ used: 30 }, { used: 10 }, { used: 10 })), [1]);
  const probe = new StubProbe({ d: [0, 2] });
  t.deepEqual(await pick('lus', 'action', branches({ used: 50 }, { used: 10 }, { used: 20 }), { probe }), [2], 'action = eplus');
});

test('lup: least used fraction by cross-multiplication; ties go to the first branch; 0/0 counts as empty', async (t) => {
  // 60/100 vs 10/20 (50%) vs 300/1000 (30%)
  t.deepEqual(await pick('lup', 'create', branches({ used: 60, avail: 40 }, { used: 10, avail: 10 }, { used: 300, avail: 700 })), [2]);
  // 1/3 == 2/6 == 100/300: the first wins
  t.deepEqual(await pick('lup', 'create', branches({ used: 2, avail: 4 }, { used: 1, avail: 2 }, { used: 100, avail: 200 })), [0]);
  // most used bytes but the smallest fraction: not lus
  t.deepEqual(await pick('lup', 'create', branches({ used: 10, avail: 10 }, { used: 1000, avail: 9000 })), [1]);
  t.deepEqual(await pick('lup', 'create', branches({ used: 1, avail: 1000 }, { used: 0, avail: 0 })), [1], 'empty fs = 0%');
  // large byte counts stay exact: (2^52+1)/(2^53+2) == 1/2 ties with 1/2
  const big = 2 ** 52;
  t.deepEqual(await pick('lup', 'create', branches({ used: 1, avail: 1 }, { used: big + 1, avail: big + 1 })), [0]);
  t.deepEqual(await pick('lup', 'create', branches({ used: big + 1, avail: big + 1 }, { used: big + 1, avail: big + 2 })), [1]);
  const probe = new StubProbe({ d: [1, 2] });
  const cs = branches({ used: 1, avail: 99 }, { used: 50, avail: 50 }, { used: 60, avail: 40 });
  t.deepEqual(await pick('lup', 'search', cs, { probe }), [1], 'search only where the path exists');
  t.deepEqual(await pick('lup', 'action', cs.map((c) => (c.index === 1 ? { ...c, mode: 'RO' as const } : c)), { probe }), [2]);
});

test('pfrd: weighted by available space, first branch whose running sum reaches random()*sum', async (t) => {
  const cs = branches({ avail: 20 }, { avail: 30 }, { avail: 50 });
  t.deepEqual(await pick('pfrd', 'create', cs, { random: fixed(0) }), [0]);
  t.deepEqual(await pick('pfrd', 'create', cs, { random: fixed(0.2) }), [0], 'threshold 20 = running sum 20');
  t.deepEqual(await pick('pfrd', 'create', cs, { random: fixed(0.21) }), [1]);
  t.deepEqual(await pick('pfrd', 'create', cs, { random: fixed(0.5) }), [1], 'threshold 50 = running sum 50 (>=)');
  t.deepEqual(await pick('pfrd', 'create', cs, { random: fixed(0.51) }), [2]);
  t.deepEqual(await pick('pfrd', 'create', cs, { random: fixed(0.99) }), [2]);
  t.deepEqual(await pick('pfrd', 'create', cs, { random: fixed(1 - Number.EPSILON) }), [2]);
});

test('pfrd: filtered branches carry no weight; action/search weigh only branches holding the path', async (t) => {
  const cs = branches({ avail: 20 }, { avail: 1000, mode: 'NC' }, { avail: 80 });
  t.deepEqual(await pick('pfrd', 'create', cs, { random: fixed(0.3) }), [2], 'threshold 30 of 100');
  const probe = new StubProbe({ d: [1, 2] });
  t.deepEqual(await pick('pfrd', 'search', cs, { random: fixed(0.9), probe }), [1], 'threshold 972 of 1080');
  t.deepEqual(await pick('pfrd', 'search', cs, { random: fixed(0.95), probe }), [2]);
  t.deepEqual(await pick('eppfrd', 'create', cs, { random: fixed(0.99), probe }), [2]);
  t.deepEqual(await pick('pfrd', 'action', cs, { random: fixed(0), probe }), [1], 'NC is eligible for action');
});

test('pfrd: a zero total weight chooses nothing and reports the running error, as mergerfs', async (t) => {
  await fails(t, 'pfrd', 'create', branches({ avail: 0 }, { avail: 0 }), 'ENOENT');
  await fails(t, 'pfrd', 'create', branches({ avail: 0 }, { avail: 0, min: 1 }), 'ENOSPC');
});

test('rand: uniform over what all would return', async (t) => {
  const cs = n(3);
  t.deepEqual(await pick('rand', 'create', cs, { random: fixed(0) }), [0]);
  t.deepEqual(await pick('rand', 'create', cs, { random: fixed(0.5) }), [1]);
  t.deepEqual(await pick('rand', 'create', cs, { random: fixed(0.99) }), [2]);
  t.deepEqual(await pick('rand', 'create', cs, { random: fixed(1 - Number.EPSILON) }), [2]);
  const withRo = branches({ mode: 'RO' }, {}, {});
  t.deepEqual(await pick('rand', 'create', withRo, { random: fixed(0) }), [1]);
  const probe = new StubProbe({ d: [0, 2] });
  t.deepEqual(await pick('rand', 'search', withRo, { random: fixed(0.99), probe }), [2]);
  t.deepEqual(await pick('rand', 'action', withRo, { random: fixed(0), probe }), [2]);
  t.deepEqual(await pick('eprand', 'create', withRo, { random: fixed(0), probe }), [2]);
});

test('rand: the choice follows random() across many draws', async (t) => {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 400; i++) {
    const [chosen = -1] = await pick('rand', 'create', n(4), { random: fixed(i / 400) });
    counts[chosen] = (counts[chosen] ?? 0) + 1;
  }
  t.deepEqual(counts, [100, 100, 100, 100]);
});

test('all: every qualifying branch, in list order', async (t) => {
  t.deepEqual(await pick('all', 'create', branches({}, { mode: 'NC' }, {}, { avail: 1, min: 2 }, {})), [0, 2, 4]);
  const probe = new StubProbe({ d: [1, 2, 3] });
  const cs = branches({}, { mode: 'RO' }, {}, {});
  t.deepEqual(await pick('all', 'search', cs, { probe }), [1, 2, 3]);
  t.deepEqual(await pick('all', 'action', cs, { probe }), [2, 3]);
  t.deepEqual(await pick('epall', 'create', cs, { probe }), [2, 3]);
});

test('newest: the largest mtime where the path exists; ties go to the later branch', async (t) => {
  const cs = n(4);
  const probe = new StubProbe({ d: { 0: 100, 1: 300, 2: 200 } });
  for (const cat of ALL_CATEGORIES) t.deepEqual(await pick('newest', cat, cs, { probe }), [1], cat);
  const tie = new StubProbe({ d: { 0: 300, 1: 300, 2: 200 } });
  t.deepEqual(await pick('newest', 'search', cs, { probe: tie }), [1]);
  t.true(probe.calls.some((c) => c.op === 'mtime'), 'asks the probe for mtimes');
});

test('newest: category filters apply; a vanished path is skipped', async (t) => {
  const probe = new StubProbe({ d: { 0: 100, 1: 300, 2: 200 } });
  const cs = branches({}, { mode: 'RO' }, { avail: 0, min: 1 });
  t.deepEqual(await pick('newest', 'search', cs, { probe }), [1]);
  t.deepEqual(await pick('newest', 'action', cs, { probe }), [2], 'RO skipped, a full disk is fine for action');
  t.deepEqual(await pick('newest', 'create', cs, { probe }), [0], 'RO and full skipped');
  await fails(t, 'newest', 'create', n(2), 'ENOENT', { probe: new StubProbe({ d: [] }) });

  // exists() says yes, mtime() then says gone (deleted in between)
  const racy: Probe = { exists: async () => true, mtime: async (c) => (c.index === 0 ? 5 : undefined) };
  t.deepEqual(await pick('newest', 'search', n(2), { probe: racy }), [0]);
  const gone: Probe = { exists: async () => true, mtime: async () => undefined };
  await fails(t, 'newest', 'search', n(2), 'ENOENT', { probe: gone });
});

test('erofs: always EROFS, in every category, whatever the branches', async (t) => {
  for (const cat of ALL_CATEGORIES) {
    await fails(t, 'erofs', cat, n(3), 'EROFS');
    await fails(t, 'erofs', cat, [], 'EROFS');
  }
});

// --- ep and msp ---------------------------------------------------------------------

test('ep variants: create only considers branches holding the parent', async (t) => {
  // branch 0 has the most space, the least used etc. but lacks the parent
  const cs = branches({ avail: 1000, used: 1 }, { avail: 50, used: 50 }, { avail: 60, used: 40 }, { avail: 10, used: 90 });
  const probe = new StubProbe({ 'a/b': [1, 2, 3] });
  const o = { probe, path: 'a/b' };
  t.deepEqual(await pick('epff', 'create', cs, o), [1]);
  t.deepEqual(await pick('epmfs', 'create', cs, o), [2]);
  t.deepEqual(await pick('eplfs', 'create', cs, o), [3]);
  t.deepEqual(await pick('eplus', 'create', cs, o), [2]);
  t.deepEqual(await pick('eplup', 'create', cs, o), [2]);
  t.deepEqual(await pick('epall', 'create', cs, o), [1, 2, 3]);
  t.deepEqual(await pick('eprand', 'create', cs, { ...o, random: fixed(0.99) }), [3]);
  t.deepEqual(await pick('eppfrd', 'create', cs, { ...o, random: fixed(0) }), [1]);
  // the non-ep counterparts ignore the parent
  t.deepEqual(await pick('mfs', 'create', cs, o), [0]);
  t.deepEqual(await pick('lus', 'create', cs, o), [0]);
  for (const name of ['epff', 'epmfs', 'eplfs', 'eplus', 'eplup', 'epall', 'eprand', 'eppfrd']) {
    await fails(t, name, 'create', cs, 'ENOENT', { probe: new StubProbe(), path: 'a/b' });
  }
});

test('ep variants: action and search behave exactly as the base policy', async (t) => {
  const cs = branches({ avail: 1000, used: 1 }, { avail: 50, used: 50, mode: 'NC' }, { avail: 60, used: 40 }, { avail: 10, used: 90, mode: 'RO' });
  const probe = new StubProbe({ d: [1, 2, 3] });
  for (const base of ['ff', 'mfs', 'lfs', 'lus', 'lup', 'pfrd', 'rand', 'all']) {
    for (const cat of ['action', 'search'] as const) {
      for (const r of [0, 0.5, 0.99]) {
        const o = { probe, random: fixed(r) };
        t.deepEqual(await pick(`ep${base}`, cat, cs, o), await pick(base, cat, cs, o), `ep${base} ${cat} ${r}`);
      }
    }
  }
});

test('msp: a/b/c exists nowhere but a exists on some branches → choose among those', async (t) => {
  const cs = branches({ avail: 1000, used: 1 }, { avail: 50, used: 50 }, { avail: 60, used: 40 }, { avail: 900, used: 2 });
  const probe = new StubProbe({ a: [1, 2] });
  const o = { probe, path: 'a/b/c' };
  t.deepEqual(await pick('mspmfs', 'create', cs, o), [2]);
  t.deepEqual(await pick('msplfs', 'create', cs, o), [1]);
  t.deepEqual(await pick('msplus', 'create', cs, o), [2]);
  t.deepEqual(await pick('msppfrd', 'create', cs, { ...o, random: fixed(0) }), [1]);
  t.deepEqual(await pick('msppfrd', 'create', cs, { ...o, random: fixed(0.99) }), [2]);
  // the deepest shared level wins over a shallower one with more space
  const deeper = new StubProbe({ a: [0, 1, 2, 3], 'a/b': [1] });
  t.deepEqual(await pick('mspmfs', 'create', cs, { probe: deeper, path: 'a/b/c' }), [1]);
});

test('msp: the walk goes a/b/c → a/b → a → root and stops there', async (t) => {
  const cs = branches({ avail: 10 }, { avail: 90 }, { avail: 50 });
  const probe = new StubProbe();
  t.deepEqual(await pick('mspmfs', 'create', cs, { probe, path: 'a/b/c' }), [1], 'root-level choice');
  const paths = [...new Set(probe.calls.map((c) => c.path))];
  t.deepEqual(paths, ['a/b/c', 'a/b', 'a', '']);
  t.deepEqual(await pick('msplfs', 'create', cs, { probe: new StubProbe(), path: 'a/b/c' }), [0]);
  t.deepEqual(await pick('mspmfs', 'create', cs, { probe: new StubProbe(), path: '' }), [1], 'a root path is tried once');
});

test('msp: all branches full → ENOSPC, and the walk terminates at the root', async (t) => {
  const cs = branches({ avail: 1, min: 10 }, { avail: 2, min: 10 });
  for (const name of ['msplfs', 'msplus', 'mspmfs', 'msppfrd']) {
    const probe = new StubProbe({ a: [0] });
    await fails(t, name, 'create', cs, 'ENOSPC', { probe, path: 'a/b/c' });
    t.deepEqual([...new Set(probe.calls.map((c) => c.path))], ['a/b/c', 'a/b', 'a', '']);
    t.true(probe.calls.length <= 8, 'each level probed once per branch');
  }
  await fails(t, 'mspmfs', 'create', branches({ mode: 'RO' }, { avail: 0, min: 1 }), 'EROFS', { path: '/x//y/' });
  await fails(t, 'mspmfs', 'create', [], 'ENOENT', { path: 'a/b' });
});

test('msp: a level whose holders are all filtered is passed over for a shallower one', async (t) => {
  const cs = branches({ avail: 10 }, { avail: 1, min: 5 }, { avail: 50 });
  const probe = new StubProbe({ 'a/b': [1], a: [0, 1] });
  t.deepEqual(await pick('mspmfs', 'create', cs, { probe, path: 'a/b' }), [0]);
});

test('msp: action and search are the ep-variant (no walk up)', async (t) => {
  const cs = branches({ avail: 10 }, { avail: 90, mode: 'RO' }, { avail: 50 });
  const probe = new StubProbe({ a: [0, 1, 2], 'a/b': [0, 1] });
  t.deepEqual(await pick('mspmfs', 'search', cs, { probe, path: 'a/b' }), [1]);
  t.deepEqual(await pick('mspmfs', 'action', cs, { probe, path: 'a/b' }), [0]);
  t.deepEqual(await pick('msplfs', 'search', cs, { probe, path: 'a/b' }), [0]);
  await fails(t, 'mspmfs', 'search', cs, 'ENOENT', { probe, path: 'a/b/c' });
});

test('parentPath walks relative byte paths up to the empty root', (t) => {
  const up = (s: string): string => parentPath(Buffer.from(s)).toString();
  t.is(up('a/b/c'), 'a/b');
  t.is(up('a/b'), 'a');
  t.is(up('a'), '');
  t.is(up(''), '');
  t.is(up('a/b/'), 'a');
  t.is(up('a//b'), 'a');
  t.is(up('/a'), '');
  t.is(up('/'), '');
  const raw = Buffer.from([0x61, 0xff, 0x2f, 0x62]); // non-UTF-8 names survive
  t.deepEqual(parentPath(raw), Buffer.from([0x61, 0xff]));
});

// --- flags and registry -----------------------------------------------------------------

test('pathPreserving: true for ep* and msp*, false for the rest', (t) => {
  for (const [name, p] of policies) t.is(p.pathPreserving, name.startsWith('ep') || name.startsWith('msp'), name);
});

test('results come back in list order and as fresh arrays', async (t) => {
  const cs = n(3);
  const first = await getPolicy('all').select({ category: 'create', path: Buffer.from('d'), candidates: cs, probe: new StubProbe(), random: fixed(0) });
  t.deepEqual(first, cs);
  t.not(first, cs);
});

test('registry: exactly the 22 policies, each in its own file exporting the same name', async (t) => {
  t.deepEqual([...policies.keys()].sort(), EXPECTED_NAMES);
  t.deepEqual([...POLICY_NAMES], EXPECTED_NAMES);
  for (const [name, p] of policies) {
    t.is(p.name, name);
    const mod: unknown = await import(`../../policies/${name}.js`);
    t.true(typeof mod === 'object' && mod !== null);
    t.deepEqual(Object.keys(mod as object), [name], `${name}.js exports only ${name}`);
    t.is((mod as Record<string, unknown>)[name], p, `${name}.js exports the registered object`);
  }
  const infra = new Set(['define', 'filters', 'index', 'maybe', 'pick', 'types']);
  const files = (await readdir(new URL('../../policies/', import.meta.url))).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
  t.deepEqual(files.filter((f) => !infra.has(f)).sort(), EXPECTED_NAMES, 'no stray policy modules');
});

test('registry: each policy module is 10-25 lines', async (t) => {
  const src = new URL('../../../policies/', import.meta.url);
  for (const name of EXPECTED_NAMES) {
    const lines = (await readFile(new URL(`${name}.ts`, src), 'utf8')).trimEnd().split('\n').length;
    t.true(lines >= 10 && lines <= 25, `${name}.ts has ${lines} lines`);
  }
});

test('getPolicy: unknown names are an Error listing the valid ones', (t) => {
  t.is(getPolicy('mfs').name, 'mfs');
  const e = t.throws(() => getPolicy('mostfree'));
  t.true(e?.message.includes("'mostfree'"));
  for (const name of EXPECTED_NAMES) t.true(e?.message.includes(name), name);
  t.throws(() => getPolicy('MFS'), undefined, 'names are case-sensitive');
  t.throws(() => getPolicy('mspff'), undefined, 'mspff does not exist');
});

// --- categories, defaults, per-function table --------------------------------------

test('CATEGORY_FUNCTIONS and DEFAULT_POLICY match mergerfs', (t) => {
  t.deepEqual([...CATEGORY_FUNCTIONS.create], ['create', 'mkdir', 'mknod', 'symlink']);
  t.deepEqual([...CATEGORY_FUNCTIONS.search], ['access', 'getattr', 'getxattr', 'listxattr', 'open', 'readlink']);
  t.deepEqual([...CATEGORY_FUNCTIONS.action], ['chmod', 'chown', 'link', 'removexattr', 'rename', 'rmdir', 'setxattr', 'truncate', 'unlink', 'utimens']);
  t.is(FUNCTION_NAMES.length, 20);
  t.is(new Set(FUNCTION_NAMES).size, 20);
  t.deepEqual([...CATEGORIES].sort(), ['action', 'create', 'search']);
  t.is(CATEGORY_OF.get('mkdir'), 'create');
  t.is(CATEGORY_OF.get('getattr'), 'search');
  t.is(CATEGORY_OF.get('rename'), 'action');
  t.deepEqual({ ...DEFAULT_POLICY }, { create: 'pfrd', search: 'ff', action: 'epall' });
  for (const name of Object.values(DEFAULT_POLICY)) t.notThrows(() => getPolicy(name));
});

test('FunctionPolicies: defaults per category', (t) => {
  const fp = new FunctionPolicies();
  for (const cat of CATEGORIES) for (const f of CATEGORY_FUNCTIONS[cat]) t.is(fp.get(f).name, DEFAULT_POLICY[cat], f);
  t.is(fp.entries().length, 20);
});

test('FunctionPolicies: options apply left to right', (t) => {
  const a = new FunctionPolicies();
  a.apply('category.create', 'mfs');
  a.apply('func.mkdir', 'ff');
  t.is(a.get('mkdir').name, 'ff');
  t.is(a.get('create').name, 'mfs');
  t.is(a.get('symlink').name, 'mfs');
  t.is(a.get('getattr').name, 'ff', 'other categories untouched');

  const b = new FunctionPolicies();
  b.apply('func.mkdir', 'ff');
  b.apply('category.create', 'mfs');
  t.is(b.get('mkdir').name, 'mfs', 'a later category.X overrides an earlier func.Y');
  t.is(b.get('create').name, 'mfs');
});

test('FunctionPolicies: clone is independent', (t) => {
  const a = new FunctionPolicies();
  a.apply('func.getattr', 'newest');
  const b = a.clone();
  b.apply('func.getattr', 'ff');
  t.is(a.get('getattr').name, 'newest');
  t.is(b.get('getattr').name, 'ff');
});

test('FunctionPolicies: unknown category, function or policy is a clear Error, and nothing changes', (t) => {
  const fp = new FunctionPolicies();
  const msg = (fn: () => void): string => t.throws(fn)?.message ?? '';
  t.regex(msg(() => fp.apply('category.write', 'mfs')), /unknown category 'write'.*create, search, action/);
  t.regex(msg(() => fp.apply('func.write', 'mfs')), /unknown function 'write'.*getattr/);
  t.regex(msg(() => fp.apply('func.readdir', 'mfs')), /unknown function 'readdir'/);
  t.regex(msg(() => fp.apply('func.mkdir', 'bogus')), /unknown policy 'bogus'.*epmfs/);
  t.regex(msg(() => fp.apply('category.create', 'bogus')), /unknown policy 'bogus'/);
  t.regex(msg(() => fp.apply('branches', 'mfs')), /not a policy option/);
  t.regex(msg(() => fp.apply('func', 'mfs')), /unknown function ''/);
  t.is(fp.get('mkdir').name, 'pfrd');
  t.is(fp.get('create').name, 'pfrd');
});
