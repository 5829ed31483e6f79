// msplus, "most shared path" lus, create only: eplus on the parent directory;
// if no branch holds it (or none that holds it qualifies), eplus on its parent,
// and so on up to the root, which is tried last, so a new file goes to the
// branch sharing the longest prefix of its path. The walk always ends at the
// root ('' here; see mostSharedPath). Action and search: = eplus.
// Path-preserving.
import { mostSharedPath } from './define.js';
import { lus } from './lus.js';

export const msplus = mostSharedPath(lus);
