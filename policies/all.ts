// all: every qualifying branch, in list order.
//   create: every branch passing the create filters. mkdir, mknod and symlink
//           create on all of them; the caller's file `create` uses the first.
//   action, search: = epall, every branch holding the path (action: not RO).
// Not path-preserving: the parent need not exist where the entry is created
// (the caller clones the directory chain).
import { definePolicy } from './define.js';
import { every } from './pick.js';

export const all = definePolicy({
  name: 'all',
  pick: every,
});
