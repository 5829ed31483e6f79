// readdirplus=auto's decision (src/ops/plus-advisor.ts), driven the way
// dir.ts and lookup.ts drive it. The mount test in
// integration/cache-options.test.ts checks the same from real walks.
import test from 'ava';
import { PlusAdvisor } from '../../src/ops/plus-advisor.js';

/** One directory listing of `files` non-directories; `stat` of them then looked up by JS. */
function list(a: PlusAdvisor, dir: bigint, files: number, stat: number): boolean {
  const attributes = a.attributesFor(dir);
  if (!attributes) {
    a.listedNamesOnly(files);
    for (let i = 0; i < stat; i++) a.lookedUp(dir);
  }
  return attributes;
}

test('names only from the start; a stat walk turns attributes on after one directory, a names walk turns them off at the next sample', (t) => {
  const a = new PlusAdvisor('auto', () => 0);
  let dir = 1n;
  for (let i = 0; i < 10; i++) t.false(list(a, dir++, 100, 0), 'a find-like walk stays names-only');
  t.false(list(a, dir++, 100, 100), 'the first listing of a stat walk is names-only');
  for (let i = 0; i < 20; i++) t.true(list(a, dir++, 100, 100), 'then attributes');
  // A names walk now: attributes until the next sample (one listing in 32) shows nothing gets stat'ed.
  const kinds: boolean[] = [];
  for (let i = 0; i < 40; i++) kinds.push(list(a, dir++, 100, 0));
  const firstNamesOnly = kinds.indexOf(false);
  t.true(firstNamesOnly >= 0 && firstNamesOnly < 32, `sampled within 32 listings (at ${firstNamesOnly})`);
  t.deepEqual(kinds.slice(firstNamesOnly + 1), kinds.slice(firstNamesOnly + 1).map(() => false), 'names-only from the sample on');
});

test('directories decide nothing: lookups of other directories, and listings of directories only, leave the mode as it is', (t) => {
  const a = new PlusAdvisor('auto', () => 0);
  // A tree of directories only: nothing listed that is not a directory.
  for (let d = 1n; d < 200n; d++) t.false(list(a, d, 0, 0));
  // A lookup below a directory that is not in the sample counts for nothing.
  a.attributesFor(500n);
  a.listedNamesOnly(100);
  for (let i = 0; i < 100; i++) a.lookedUp(501n);
  t.false(a.attributesFor(502n));
});

test("LOOKUPs the addon answered count as use: names looked up before are stat'ed again", (t) => {
  let served = 0;
  const a = new PlusAdvisor('auto', () => served);
  t.false(a.attributesFor(1n));
  a.listedNamesOnly(100);
  served += 90;
  t.true(a.attributesFor(2n));
});

test('true and false decide alone and count nothing', (t) => {
  for (const mode of ['true', 'false'] as const) {
    const a = new PlusAdvisor(mode, () => 0);
    for (let d = 1n; d < 100n; d++) t.is(list(a, d, 100, d % 2n ? 100 : 0), mode === 'true');
    t.deepEqual(a.counts(), { attributes: 0, namesOnly: 0 });
  }
});
