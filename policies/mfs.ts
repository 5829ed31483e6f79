// mfs, "most free space": the branch with the most available space
// (f_bavail * f_frsize).
//   create: among branches passing the create filters; a tie goes to the
//           LATER branch (mergerfs replaces its best on >=).
//   action, search: = epmfs, among branches holding the path.
import { definePolicy } from './define.js';
import { scan } from './pick.js';

export const mfs = definePolicy({
  name: 'mfs',
  pick: (cs) => scan(cs, (c, best) => c.spaceAvail >= best.spaceAvail),
});
