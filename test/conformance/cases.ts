// POSIX parity conformance cases.
//
// Each case performs an ordinary syscall sequence under `root` (an empty
// directory it owns) and returns a JSON-serialisable, normalised result. The
// parity tests run every case once on a plain directory and once inside a
// braidfs mount and require the two results to be deepEqual, so a case must
// never return anything that depends on *where* it ran (absolute paths,
// inode numbers, st_dev, unset timestamps, st_blocks — only relations).
//
// Cases run as root from the test process. python3 snippets (util.py) and
// util-linux tools are used for what node:fs cannot express.
import { ioCases } from './cases/io.js';
import { sparseCases } from './cases/sparse.js';
import { dirsCases } from './cases/dirs.js';
import { symlinksCases } from './cases/symlinks.js';
import { hardlinksCases } from './cases/hardlinks.js';
import { renameCases } from './cases/rename.js';
import { specialCases } from './cases/special.js';
import { attributesCases } from './cases/attributes.js';
import { openUnlinkedCases } from './cases/open-unlinked.js';
import { fsWideCases } from './cases/fs-wide.js';
import { locksCases } from './cases/locks.js';
import { tmpfileCases } from './cases/tmpfile.js';
import { miscCases } from './cases/misc.js';
import { concurrencyCases } from './cases/concurrency.js';
import type { Case } from './cases/shared.js';

export type { Case };

/** Every case, by name; the themed files under cases/ hold the bodies. */
export const cases: Record<string, Case> = {
  ...ioCases,
  ...sparseCases,
  ...dirsCases,
  ...symlinksCases,
  ...hardlinksCases,
  ...renameCases,
  ...specialCases,
  ...attributesCases,
  ...openUnlinkedCases,
  ...fsWideCases,
  ...locksCases,
  ...tmpfileCases,
  ...miscCases,
  ...concurrencyCases,
};

export const caseNames = Object.keys(cases);
