// readdirplus=auto's decision (src/ops/plus-advisor.ts), driven the way
// dir.ts and lookup.ts drive it. The mount test in
// integration/cache-options.test.ts checks the same from real walks.
import test from 'ava';
import { PlusAdvisor, SPARSE, type ListingKind } from '../../src/ops/plus-advisor.js';

/**
 * One listing of directory `dir` holding `files` non-directories; a stat walk
 * (`stats`) then looks up every name it got without attributes.
 */
function list(a: PlusAdvisor, dir: bigint, files: number, stats: boolean): ListingKind {
  const kind = a.listingFor(dir);
  const bare = kind === 'names' ? files : kind === 'sampled' ? Math.floor(files / SPARSE) : 0;
  a.listedNamesOnly(bare);
  if (stats) for (let i = 0; i < bare; i++) a.lookedUp(dir);
  return kind;
}

test('names only from the start; a stat walk turns attributes on after one directory, a names walk turns them off after the next sample', (t) => {
  const a = new PlusAdvisor('auto', () => 0);
  let dir = 1n;
  for (let i = 0; i < 10; i++) t.is(list(a, dir++, 100, false), 'names', 'a find-like walk stays names-only');
  t.is(list(a, dir++, 100, true), 'names', 'the first listing of a stat walk is names-only');
  const during: ListingKind[] = [];
  for (let i = 0; i < 70; i++) during.push(list(a, dir++, 100, true));
  t.deepEqual([...new Set(during)].sort(), ['attributes', 'sampled'], 'then attributes, with a sparse sample now and then');
  t.true(during.filter((k) => k === 'sampled').length <= 3, `samples in 70 listings: ${during.filter((k) => k === 'sampled').length}`);
  // A names walk now: attributes until a sample shows its names are not looked up.
  const kinds: ListingKind[] = [];
  for (let i = 0; i < 40; i++) kinds.push(list(a, dir++, 100, false));
  const sample = kinds.indexOf('sampled');
  t.true(sample >= 0 && sample < 32, `sampled within 32 listings (at ${sample})`);
  t.deepEqual(kinds.slice(sample + 1), kinds.slice(sample + 1).map(() => 'names'), 'names-only from the listing after the sample on');
});

test('directories decide nothing: lookups below other directories, and listings of directories only, leave the mode as it is', (t) => {
  const a = new PlusAdvisor('auto', () => 0);
  // A tree of directories only: nothing listed that is not a directory.
  for (let d = 1n; d < 200n; d++) t.is(list(a, d, 0, false), 'names');
  // A lookup below a directory that is not in the sample counts for nothing.
  a.listingFor(500n);
  a.listedNamesOnly(100);
  for (let i = 0; i < 100; i++) a.lookedUp(501n);
  t.is(a.listingFor(502n), 'names');
});

test("LOOKUPs the addon answered count as use: names looked up before are stat'ed again", (t) => {
  let served = 0;
  const a = new PlusAdvisor('auto', () => served);
  t.is(a.listingFor(1n), 'names');
  a.listedNamesOnly(100);
  served += 90;
  t.is(a.listingFor(2n), 'attributes');
});

test('true and false decide alone and count nothing', (t) => {
  for (const mode of ['true', 'false'] as const) {
    const a = new PlusAdvisor(mode, () => 0);
    for (let d = 1n; d < 100n; d++) t.is(list(a, d, 100, d % 2n === 1n), mode === 'true' ? 'attributes' : 'names');
    t.deepEqual(a.counts(), { attributes: 0, namesOnly: 0, sampled: 0 });
  }
});

/** Listings made elsewhere (the addon), logged as native.takeListings gives them; `allowed` follows allow(). */
class Elsewhere {
  allowed: boolean | undefined;
  private log: bigint[] = [];
  allow(on: boolean): void {
    this.allowed = on;
  }
  take(): BigUint64Array | null {
    if (this.log.length === 0) return null;
    const out = BigUint64Array.from(this.log);
    this.log = [];
    return out;
  }
  /** A names-only listing of `dir` with `files` non-directories, made when the addon had served `served` file lookups. */
  listed(dir: bigint, files: number, served: number): void {
    this.log.push(dir, BigInt(files), BigInt(served));
  }
}

test('listings made elsewhere are allowed while listings go out names-only, and count as if made here: a stat walk of them turns attributes on', (t) => {
  const a = new PlusAdvisor('auto', () => 0);
  const e = new Elsewhere();
  a.attach(e);
  t.true(e.allowed, 'a fresh mount lists names only, so the addon may list');
  // A find-like walk, all listed elsewhere: nothing changes.
  for (let d = 1n; d <= 20n; d++) e.listed(d, 30, 0);
  t.is(a.counts().namesOnly, 20, 'the listings made elsewhere are counted once taken in');
  t.true(e.allowed);
  // A stat walk: one directory listed elsewhere, then its 30 names looked up by JS.
  e.listed(100n, 30, 0);
  for (let i = 0; i < 30; i++) a.lookedUp(100n);
  t.is(a.listingFor(101n), 'attributes', 'the lookups below the directory listed elsewhere switch attributes on');
  t.false(e.allowed, 'and the addon stops listing');
});

test('lookups the addon answered between two listings made elsewhere count for the first one', (t) => {
  let served = 0;
  const a = new PlusAdvisor('auto', () => served);
  const e = new Elsewhere();
  a.attach(e);
  e.listed(1n, 10, 0);
  // The 10 names were known to the addon, which answered their lookups; then the next listing.
  served = 10;
  e.listed(2n, 10, 10);
  a.counts(); // takes the log in
  t.false(e.allowed, 'the sample of directory 1 was used: attributes from the listing after it');
  // Nobody looked up directory 2's names: the next listing judges that sample, and goes back to names only.
  t.is(a.listingFor(3n), 'names');
  t.true(e.allowed);
});

test('readdirplus=true never lets the addon list; false always does', (t) => {
  for (const [mode, want] of [['true', false], ['false', true]] as const) {
    const a = new PlusAdvisor(mode, () => 0);
    const e = new Elsewhere();
    a.attach(e);
    t.is(e.allowed, want, mode);
    e.listed(1n, 10, 0);
    a.counts();
    t.is(e.allowed, want, `${mode}, after a listing`);
  }
});
