// FUSE passthrough backing ids: one per node, shared by all its opens.
//
// The kernel allows one backing file per FUSE inode: a second concurrent
// open with another backing id, or a non-passthrough open of an inode in
// passthrough mode, fails with EIO. So the first open of a node registers
// its fd (FUSE_DEV_IOC_BACKING_OPEN), later opens reuse that id, and the last
// release closes it. The first refusal that says "not allowed here" (EPERM:
// not root, a user namespace, writeback cache) turns passthrough off for the
// whole mount, with one log line saying why.
import { readFileSync } from 'node:fs';
import { native } from '../native/index.js';
import { Errno, errnoName } from '../sys/errno.js';
import type { Logger } from '../sys/log.js';

interface Backing {
  id: number;
  refs: number;
  /** Which file backs it (the branch it is on): a node's file can change under it (copy-up). */
  file: number;
}

/** acquire()'s answer when the node is already backed by another file: serve this open with direct I/O. */
export const OTHER_BACKING = -1;

/**
 * Why this process cannot register backing files at all, if that can be
 * told before trying: the kernel wants CAP_SYS_ADMIN in the initial user
 * namespace.
 */
export function passthroughRefusal(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (the kernel lets only privileged servers register backing files)';
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    if (!(map[0] === '0' && map[1] === '0' && map[2] === '4294967295')) return 'running in a user namespace (backing files need CAP_SYS_ADMIN in the initial one)';
  } catch {
    // no /proc: let the first open find out
  }
  return undefined;
}

export class PassthroughTable {
  private readonly byNode = new Map<bigint, Backing>();
  private on: boolean;

  constructor(
    private readonly devFd: number,
    enabled: boolean,
    private readonly log: Logger,
  ) {
    this.on = enabled;
  }

  get enabled(): boolean {
    return this.on;
  }

  disable(reason: string): void {
    if (!this.on) return;
    this.on = false;
    this.log.warn(`passthrough off: ${reason}; reads and writes are served in userspace`);
  }

  /**
   * The backing id for this open, or 0 to serve it in userspace. A node
   * whose backing file is another file than `file` (a copy-up happened while
   * a lower fd was open in passthrough) cannot take a second backing file,
   * nor a cached open: OTHER_BACKING asks for a direct-I/O open instead.
   */
  acquire(nodeId: bigint, fd: number, file = 0): number {
    const b = this.byNode.get(nodeId);
    if (b) {
      if (b.file !== file) return OTHER_BACKING;
      b.refs++;
      return b.id;
    }
    if (!this.on) return 0;
    const id = native.backingOpen(this.devFd, fd);
    if (id < 0) {
      if (-id === Errno.EPERM) {
        this.disable('the kernel refused a backing file (EPERM: needs CAP_SYS_ADMIN in the initial user namespace, and no writeback cache)');
      } else {
        // EINVAL: the file sits on overlayfs or another FUSE mount, deeper than the stacking limit the kernel allows.
        const why = -id === Errno.EINVAL ? 'EINVAL: the branch is a stacked filesystem (overlayfs or FUSE) deeper than the passthrough stack limit' : errnoName(-id);
        this.log.once(`backing-${-id}`, 'warn', `passthrough refused for a file (${why}); serving such files in userspace`);
      }
      return 0;
    }
    this.byNode.set(nodeId, { id, refs: 1, file });
    return id;
  }

  release(nodeId: bigint): void {
    const b = this.byNode.get(nodeId);
    if (!b) return;
    if (--b.refs > 0) return;
    this.byNode.delete(nodeId);
    const r = native.backingClose(this.devFd, b.id);
    if (r < 0) this.log.warn(`closing backing id ${b.id} failed: ${errnoName(-r)}`);
  }

  /** Is this node in passthrough on another file than `file` (so an open of `file` would be refused)? */
  backedByOther(nodeId: bigint, file: number): boolean {
    const b = this.byNode.get(nodeId);
    return b !== undefined && b.file !== file;
  }

  /** Is this node currently served by passthrough? */
  has(nodeId: bigint): boolean {
    return this.byNode.has(nodeId);
  }
}
