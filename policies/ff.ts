// ff, "first found": the first qualifying branch in list order.
//   create: the first branch passing the create filters (RW, writable, above
//           minfreespace), whether or not the parent exists there.
//   action: = epff, the first branch holding the path that is not RO.
//   search: the first branch holding the path (the default search policy).
// Probing stops at the first hit, which keeps getattr cheap.
import { definePolicy } from './define.js';
import { first } from './pick.js';

export const ff = definePolicy({
  name: 'ff',
  firstOnly: true,
  pick: first,
});
