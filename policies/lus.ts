// lus, "least used space": the branch with the fewest used bytes
// ((f_blocks - f_bfree) * f_frsize).
//   create: among branches passing the create filters; a tie goes to the
//           FIRST branch (mergerfs skips on >=).
//   action, search: = eplus, among branches holding the path.
import { definePolicy } from './define.js';
import { scan } from './pick.js';

export const lus = definePolicy({
  name: 'lus',
  pick: (cs) => scan(cs, (c, best) => c.spaceUsed < best.spaceUsed),
});
