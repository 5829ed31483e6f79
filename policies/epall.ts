// epall, "existing path" all: every branch where the path exists.
// For create the path is the parent directory (the caller passes it), so the
// new entry goes where its parent already is, after the create filters (not
// RO/NC, not a read-only filesystem, statvfs working, above minfreespace).
// Action (which also skips RO branches and read-only filesystems) and search
// behave exactly as all's. Path-preserving: rename and link keep files on
// their branch.
import { existingPath } from './define.js';
import { all } from './all.js';

export const epall = existingPath(all);
