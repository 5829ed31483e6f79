// Clearing suid/sgid when an unprivileged caller writes, truncates or
// chowns, in the modes where the kernel tells the daemon differently:
// without passthrough writes arrive as WRITE with FUSE_WRITE_KILL_SUIDGID
// (cache.files=off: direct I/O; partial: writethrough). The default mount
// (passthrough) runs them in unprivileged.test.ts.
import { registerUserTests } from './user-suite.js';

const SETID = ['setid-cleared-on-write', 'setid-cleared-on-open-trunc', 'setid-set-while-open-for-write'];

registerUserTests(['passthrough.io=off', 'cache.files=off'], ' (no passthrough, direct I/O)', SETID);
registerUserTests(['passthrough.io=off', 'cache.files=partial'], ' (no passthrough, page cache)', SETID);
