// lup, "least used percentage": the branch with the smallest
// used / (used + avail), compared exactly by cross-multiplication; an empty
// filesystem (0 + 0) counts as 0% used. A tie goes to the FIRST branch.
//   create: among branches passing the create filters.
//   action: among branches holding the path, not RO; search: holding the path.
// (mergerfs writes lup's action and search out by hand; they are the ep shape.)
import { definePolicy } from './define.js';
import { lessUsed, scan } from './pick.js';

export const lup = definePolicy({
  name: 'lup',
  pick: (cs) => scan(cs, lessUsed),
});
