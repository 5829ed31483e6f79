// newest: the branch where the path has the largest mtime (probe.mtime).
// It always needs the path, create included (+ the category's filters); a tie
// goes to the LATER branch, as in mergerfs (skip only on <). A branch whose
// path vanished between the existence and mtime probes is skipped. Not
// path-preserving: mergerfs's newest says false.
import { definePolicy } from './define.js';
import { scan } from './pick.js';
import { all, then } from './maybe.js';

export const newest = definePolicy({
  name: 'newest',
  existing: true,
  pick: (cs, { probe, path }) =>
    then(all(cs.map((c) => probe.mtime(c, path))), (times) => {
      const found = cs.flatMap((c, i) => (times[i] === undefined ? [] : [{ c, t: times[i] }]));
      return scan(found, (x, best) => x.t >= best.t)?.c;
    }),
});
