// eplup, "existing path" lup: the least used percentage among branches where the path exists (ties → first).
// mergerfs has no eplup; this is the combinator applied to lup.
// For create the path is the parent directory (the caller passes it), so the
// new entry goes where its parent already is, after the create filters (not
// RO/NC, not a read-only filesystem, statvfs working, above minfreespace).
// Action (which also skips RO branches and read-only filesystems) and search
// behave exactly as lup's. Path-preserving: rename and link keep files on
// their branch.
import { existingPath } from './define.js';
import { lup } from './lup.js';

export const eplup = existingPath(lup);
