// msppfrd, "most shared path" pfrd, create only: eppfrd on the parent directory;
// if no branch holds it (or none that holds it qualifies), eppfrd on its parent,
// and so on up to the root, which is tried last, so a new file goes to the
// branch sharing the longest prefix of its path. The walk always ends at the
// root ('' here; see mostSharedPath). Action and search: = eppfrd.
// Path-preserving.
import { mostSharedPath } from './define.js';
import { pfrd } from './pfrd.js';

export const msppfrd = mostSharedPath(pfrd);
