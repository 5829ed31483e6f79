// eplfs, "existing path" lfs: the least available space among branches where the path exists (ties → later).
// For create the path is the parent directory (the caller passes it), so the
// new entry goes where its parent already is, after the create filters (not
// RO/NC, not a read-only filesystem, statvfs working, above minfreespace).
// Action (which also skips RO branches and read-only filesystems) and search
// behave exactly as lfs's. Path-preserving: rename and link keep files on
// their branch.
import { existingPath } from './define.js';
import { lfs } from './lfs.js';

export const eplfs = existingPath(lfs);
