// lfs, "least free space": the branch with the least available space that
// still passes minfreespace (fill one disk before the next).
//   create: among branches passing the create filters; a tie goes to the
//           LATER branch (mergerfs replaces its best on <=).
//   action, search: = eplfs, among branches holding the path.
import { definePolicy } from './define.js';
import { scan } from './pick.js';

export const lfs = definePolicy({
  name: 'lfs',
  pick: (cs) => scan(cs, (c, best) => c.spaceAvail <= best.spaceAvail),
});
