// pfrd, "percentage free random distribution": a random branch, weighted by
// its available space. The threshold is random() * sum; the first branch whose
// running sum is >= the threshold wins. A zero sum chooses nothing and reports
// the running error (as mergerfs does). The default create policy.
//   create: among branches passing the create filters.
//   action, search: = eppfrd, among branches holding the path.
import { definePolicy } from './define.js';
import { weighted } from './pick.js';

export const pfrd = definePolicy({
  name: 'pfrd',
  pick: (cs, { random }) => weighted(cs, (c) => c.spaceAvail, random),
});
