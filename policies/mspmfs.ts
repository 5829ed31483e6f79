// mspmfs, "most shared path" mfs, create only: epmfs on the parent directory;
// if no branch holds it (or none that holds it qualifies), epmfs on its parent,
// and so on up to the root, which is tried last, so a new file goes to the
// branch sharing the longest prefix of its path. The walk always ends at the
// root ('' here; see mostSharedPath). Action and search: = epmfs.
// Path-preserving.
import { mostSharedPath } from './define.js';
import { mfs } from './mfs.js';

export const mspmfs = mostSharedPath(mfs);
