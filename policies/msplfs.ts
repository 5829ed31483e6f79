// msplfs, "most shared path" lfs, create only: eplfs on the parent directory;
// if no branch holds it (or none that holds it qualifies), eplfs on its parent,
// and so on up to the root, which is tried last, so a new file goes to the
// branch sharing the longest prefix of its path. The walk always ends at the
// root ('' here; see mostSharedPath). Action and search: = eplfs.
// Path-preserving.
import { mostSharedPath } from './define.js';
import { lfs } from './lfs.js';

export const msplfs = mostSharedPath(lfs);
