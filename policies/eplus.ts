// eplus, "existing path" lus: the least used space among branches where the path exists (ties → first).
// For create the path is the parent directory (the caller passes it), so the
// new entry goes where its parent already is, after the create filters (not
// RO/NC, not a read-only filesystem, statvfs working, above minfreespace).
// Action (which also skips RO branches and read-only filesystems) and search
// behave exactly as lus's. Path-preserving: rename and link keep files on
// their branch.
import { existingPath } from './define.js';
import { lus } from './lus.js';

export const eplus = existingPath(lus);
