// Open files whose READ and WRITE the addon answers itself (addon.c, "Open
// files served here"): the userspace data path without JS per request.
//
// JS keeps every decision: which opens qualify, and when an fd changes hands.
// A file is handed over only when its branch's syscalls run inline anyway (a
// fast branch, syscalls=inline or auto), since the addon does its pread and
// pwrite on the event loop; and only when nothing needs to see each request
// (no debug trace). A WRITE that needs JS after all (suid/sgid to clear, a
// full branch) is passed on to JS unanswered by the addon.
import { native } from '../native/index.js';
import * as sys from '../sys/fs.js';
import type { FileHandle } from '../union/handles.js';

/** addon.c FILE_KILL_IN_JS: every WRITE that asks to clear suid/sgid goes to JS. */
const KILL_IN_JS = 1;

/** What io.ts and moveonenospc tell the transport about open files without passthrough. */
export interface ServedIo {
  /** `h` is open without passthrough: serve its READ and WRITE in the addon if it qualifies. */
  offer(h: FileHandle): void;
  /** Back to JS, before `h.fd` is closed or replaced. */
  withdraw(h: FileHandle): void;
}

export const NOT_SERVED: ServedIo = { offer: () => undefined, withdraw: () => undefined };

export class AddonServedIo implements ServedIo {
  private readonly served = new Set<bigint>();

  /**
   * @param killInJs the file mode the kernel sees is not the branch file's
   *   (overlay xattr_permissions), so clearing suid/sgid is always JS's call.
   */
  constructor(private readonly killInJs: boolean) {}

  offer(h: FileHandle): void {
    if (sys.isSlow(h.fd) || !sys.inlineSyscalls()) return;
    if (native.serveFile(Number(h.fh), h.fd, this.killInJs ? KILL_IN_JS : 0) === 0) this.served.add(h.fh);
  }

  withdraw(h: FileHandle): void {
    if (this.served.delete(h.fh)) native.unserveFile(Number(h.fh));
  }
}

/**
 * What native.servedStats counts, in addon.c's order (its enum of served
 * kinds), by the opcode the stats line shows: both kinds of LOOKUP (found,
 * nowhere) as LOOKUP, the end of a listing as READDIR, and a first
 * READDIR(PLUS) the addon listed itself as LISTING.
 */
const SERVED_KINDS = ['READ', 'WRITE', 'LOOKUP', 'LOOKUP', 'GETATTR', 'UNLINK', 'GETXATTR', 'OPENDIR', 'READDIR', 'RELEASEDIR', 'LISTING', 'SETATTR'] as const;

/** Counts and milliseconds of what the addon answered, by opcode, for the stats line. */
export function addonServedStats(): Array<[string, { count: number; totalMs: number }]> {
  const raw = native.servedStats();
  const out = new Map<string, { count: number; totalMs: number }>();
  SERVED_KINDS.forEach((name, i) => {
    const count = raw[2 * i] ?? 0;
    if (count === 0) return;
    const before = out.get(name) ?? { count: 0, totalMs: 0 };
    out.set(name, { count: before.count + count, totalMs: before.totalMs + (raw[2 * i + 1] ?? 0) });
  });
  return [...out];
}
