// rand: what `all` would return, then one of those chosen uniformly.
//   create: among branches passing the create filters.
//   action, search: = eprand, among branches holding the path.
// The caller injects random() (uniform in [0, 1)); index = floor(random() * n).
import { definePolicy } from './define.js';
import { uniform } from './pick.js';

export const rand = definePolicy({
  name: 'rand',
  pick: (cs, { random }) => uniform(cs, random),
});
