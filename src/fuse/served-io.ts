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

/** Counts and milliseconds of what the addon answered, by opcode, for the stats line (the two kinds of LOOKUP added up). */
export function addonServedStats(): Array<[string, { count: number; totalMs: number }]> {
  const [reads, readMs, writes, writeMs, found, foundMs, nowhere, nowhereMs, getattrs, getattrMs, unlinks, unlinkMs, caps, capMs, opens, openMs, ends, endMs, releases, releaseMs] =
    native.servedStats() as [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
  const out: Array<[string, { count: number; totalMs: number }]> = [];
  if (found + nowhere) out.push(['LOOKUP', { count: found + nowhere, totalMs: foundMs + nowhereMs }]);
  if (getattrs) out.push(['GETATTR', { count: getattrs, totalMs: getattrMs }]);
  if (unlinks) out.push(['UNLINK', { count: unlinks, totalMs: unlinkMs }]);
  if (caps) out.push(['GETXATTR', { count: caps, totalMs: capMs }]);
  if (opens) out.push(['OPENDIR', { count: opens, totalMs: openMs }]);
  if (ends) out.push(['READDIR', { count: ends, totalMs: endMs }]);
  if (releases) out.push(['RELEASEDIR', { count: releases, totalMs: releaseMs }]);
  if (reads) out.push(['READ', { count: reads, totalMs: readMs }]);
  if (writes) out.push(['WRITE', { count: writes, totalMs: writeMs }]);
  return out;
}
