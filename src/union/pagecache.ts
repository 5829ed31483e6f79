// Which opens may use the kernel's page cache (mergerfs's cache.files), for
// files not in passthrough (the kernel refuses KEEP_CACHE with passthrough):
//   off          FOPEN_DIRECT_IO: every read and write reaches the daemon
//   partial      page cache while open; dropped at each open
//   full         FOPEN_KEEP_CACHE: kept across opens
//   auto-full    kept across opens while mtime and size are unchanged
//   per-process  direct I/O, except for the listed process names
// The kernel drops stale pages itself when it sees mtime change
// (AUTO_INVAL_DATA, asked for at INIT), and everything changed through the
// mount goes through its page cache anyway.
import { readFile } from 'node:fs/promises';
import * as abi from '../fuse/abi.js';
import type { Stat } from '../sys/fs.js';

export type CacheFiles = 'off' | 'partial' | 'full' | 'auto-full' | 'per-process';

/** mergerfs's default cache.files.process-names. */
export const DEFAULT_PROCESS_NAMES: readonly string[] = ['rtorrent', 'qbittorrent-nox'];

export class PageCachePolicy {
  /** What each node looked like at its last open, for auto-full. */
  private readonly seen = new Map<bigint, string>();

  /** The FOPEN_* flags for an open of `node` by process `pid`; `st` is the opened file's stat (auto-full only). */
  async openFlags(mode: CacheFiles, nodeId: bigint, pid: number, st: () => Promise<Stat>, processNames: readonly string[] = DEFAULT_PROCESS_NAMES): Promise<number> {
    switch (mode) {
      case 'off':
        return abi.FOPEN_DIRECT_IO;
      case 'partial':
        return 0;
      case 'full':
        return abi.FOPEN_KEEP_CACHE;
      case 'auto-full': {
        const s = await st();
        const key = `${s.mtimeSec}.${s.mtimeNsec}:${s.size}`;
        const same = this.seen.get(nodeId) === key;
        this.seen.set(nodeId, key);
        return same ? abi.FOPEN_KEEP_CACHE : 0;
      }
      case 'per-process': {
        const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
        return processNames.includes(comm.trim()) ? 0 : abi.FOPEN_DIRECT_IO;
      }
    }
  }

  /** A node the kernel forgot needs no memory of its last open. */
  forget(nodeId: bigint): void {
    this.seen.delete(nodeId);
  }
}
