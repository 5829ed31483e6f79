// newest: the branch where the path has the largest mtime (probe.mtime).
// It always needs the path, create included (+ the category's filters); a tie
// goes to the LATER branch, as in mergerfs (skip only on <). A branch whose
// path vanished between the existence and mtime probes is skipped. Not
// path-preserving: mergerfs's newest says false.
import { definePolicy } from './define.js';
import { scan } from './pick.js';

export const newest = definePolicy({
  name: 'newest',
  existing: true,
  async pick(cs, { probe, path }) {
    const times = await Promise.all(cs.map((c) => probe.mtime(c, path)));
    const found = cs.flatMap((c, i) => (times[i] === undefined ? [] : [{ c, t: times[i] }]));
    return scan(found, (x, best) => x.t >= best.t)?.c;
  },
});
