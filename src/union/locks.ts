// POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW) and flock(2) locks,
// kept by the daemon itself, in memory, per FUSE node.
//
// Why not just lock the backing files? Once the kernel has negotiated
// POSIX_LOCKS and FLOCK_LOCKS it stops keeping locks on the FUSE inode and
// sends every lock request to us, and a lock taken through the mount has to be
// seen by every other process using the mount. The daemon, however, holds one
// backing fd per open and issues every syscall as itself: fcntl locks on those
// fds would all belong to the daemon process (one POSIX owner, so they would
// merge instead of conflicting, and the first close() of any fd would drop
// them all), and the kernel's lock owner / pid of the caller cannot be passed
// down. So we implement the Linux semantics here, keyed by the kernel's lock
// owner id, and answer GETLK from the same table. (Locks are therefore not
// visible to processes that bypass the mount and use a branch directly.)
//
// Semantics follow fs/locks.c:
//  * POSIX: a lock conflicts with another owner's overlapping lock when either
//    is a write lock. An owner's own locks never conflict; a new lock replaces
//    whatever the owner held over its range (splitting locks of another type),
//    and merges with overlapping or adjacent locks of the same type. F_UNLCK
//    over a range that holds nothing is not an error. SETLKW waits; a wait
//    that would close a cycle of owners waiting on each other is EDEADLK.
//  * flock: one whole-file lock per owner (the open file), SH or EX. A
//    conversion first drops the old lock and then asks for the new one, so a
//    failed LOCK_NB conversion leaves the file unlocked, exactly like Linux.
//    flock and POSIX locks live in separate namespaces and never conflict.
//  * Waiters are woken whenever a lock of their kind on their node goes away or
//    changes, and re-check from scratch (a wakeup is not a grant).
//
// Pure bookkeeping: no I/O, no timers.
import { Errno, FsError } from '../sys/errno.js';

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;

/** Inclusive byte range; an end of Number.MAX_SAFE_INTEGER or more means "to infinity". */
export interface LockRange {
  start: number;
  end: number;
}

export interface LockInfo {
  start: number;
  end: number;
  type: number;
  pid: number;
}

/** Ends at or beyond this are "to EOF" (the kernel's OFFSET_MAX arrives as 2**63). */
const INFINITE_FROM = Number.MAX_SAFE_INTEGER;

/** How many owners the deadlock search visits before giving up (Linux stops after 10 hops). */
const MAX_DEADLOCK_VISITS = 1024;

interface PosixLock {
  readonly owner: bigint;
  readonly pid: number;
  readonly type: number;
  readonly start: number;
  /** Internal end: Infinity for "to EOF". */
  readonly end: number;
  /** The end to report back (the value the kernel sent, e.g. 2**63 for OFFSET_MAX). */
  readonly shownEnd: number;
}

type Kind = 'posix' | 'flock';

interface Waiter {
  readonly kind: Kind;
  readonly owner: bigint;
  readonly st: NodeState;
  readonly type: number;
  readonly start: number;
  readonly end: number;
  /** Set while the waiter sleeps; calling it resumes the waiter for a re-check. */
  wake: (() => void) | undefined;
}

interface NodeState {
  /** All owners' POSIX locks, sorted by start. An owner's own locks never overlap. */
  posix: PosixLock[];
  /** flock owner → F_RDLCK | F_WRLCK. */
  readonly flocks: Map<bigint, number>;
  readonly waiters: Set<Waiter>;
  /** dropNode() ran while requests were waiting: they fail with ENOLCK. */
  dropped: boolean;
}

interface NormRange {
  start: number;
  end: number;
  shownEnd: number;
}

const conflicting = (a: number, b: number): boolean => a === F_WRLCK || b === F_WRLCK;

function checkType(type: number, syscall: string, allowUnlock: boolean): void {
  if (type === F_RDLCK || type === F_WRLCK || (allowUnlock && type === F_UNLCK)) return;
  throw new FsError(Errno.EINVAL, syscall);
}

function normRange(range: LockRange, syscall: string): NormRange {
  const { start, end } = range;
  if (!Number.isInteger(start) || start < 0 || Number.isNaN(end) || end < start) throw new FsError(Errno.EINVAL, syscall);
  if (end >= INFINITE_FROM) return { start, end: Infinity, shownEnd: end };
  if (!Number.isInteger(end)) throw new FsError(Errno.EINVAL, syscall);
  return { start, end, shownEnd: end };
}

export class LockTable {
  private readonly nodes = new Map<bigint, NodeState>();
  /** Sleeping-or-rechecking SETLKW requests by owner, for deadlock detection (across nodes). */
  private readonly posixWaiters = new Map<bigint, Set<Waiter>>();

  /** F_GETLK: the first lock held by another owner that conflicts, or F_UNLCK echoing the request. */
  getlk(node: bigint, owner: bigint, type: number, range: LockRange, pid: number): LockInfo {
    void pid; // the caller's pid plays no part in the answer
    checkType(type, 'getlk', false);
    const r = normRange(range, 'getlk');
    const st = this.nodes.get(node);
    const l = st && this.posixConflict(st, owner, type, r.start, r.end);
    if (!l) return { type: F_UNLCK, start: range.start, end: range.end, pid: 0 };
    return { type: l.type, start: l.start, end: l.shownEnd, pid: l.pid };
  }

  /** F_SETLK / F_SETLKW. */
  async setlk(node: bigint, owner: bigint, type: number, range: LockRange, pid: number, wait: boolean, signal?: AbortSignal): Promise<void> {
    checkType(type, 'setlk', true);
    const r = normRange(range, 'setlk');
    if (type === F_UNLCK) {
      const st = this.nodes.get(node);
      if (!st) return;
      if (this.applyPosix(st, owner, F_UNLCK, r, pid)) this.wake(st, 'posix');
      this.gc(node, st);
      return;
    }
    const st = this.state(node);
    if (!this.posixConflict(st, owner, type, r.start, r.end)) {
      this.grantPosix(st, owner, type, r, pid);
      return;
    }
    if (!wait) {
      this.gc(node, st);
      throw new FsError(Errno.EAGAIN, 'setlk');
    }
    const w: Waiter = { kind: 'posix', owner, st, type, start: r.start, end: r.end, wake: undefined };
    this.addWaiter(w);
    try {
      for (;;) {
        if (this.deadlocks(w)) throw new FsError(Errno.EDEADLK, 'setlk');
        await this.sleep(w, signal, 'setlk');
        if (st.dropped) throw new FsError(Errno.ENOLCK, 'setlk');
        if (!this.posixConflict(st, owner, type, r.start, r.end)) {
          this.grantPosix(st, owner, type, r, pid);
          return;
        }
      }
    } finally {
      this.removeWaiter(w);
      this.gc(node, st);
    }
  }

  /** flock(2): F_RDLCK = LOCK_SH, F_WRLCK = LOCK_EX, F_UNLCK = LOCK_UN, keyed by the open file. */
  async flock(node: bigint, owner: bigint, type: number, wait: boolean, signal?: AbortSignal): Promise<void> {
    checkType(type, 'flock', true);
    if (type === F_UNLCK) {
      this.releaseFlock(node, owner);
      return;
    }
    const st = this.state(node);
    if (this.tryFlock(st, owner, type)) return;
    if (!wait) {
      this.gc(node, st);
      throw new FsError(Errno.EAGAIN, 'flock');
    }
    const w: Waiter = { kind: 'flock', owner, st, type, start: 0, end: Infinity, wake: undefined };
    this.addWaiter(w);
    try {
      for (;;) {
        await this.sleep(w, signal, 'flock');
        if (st.dropped) throw new FsError(Errno.ENOLCK, 'flock');
        if (this.tryFlock(st, owner, type)) return;
      }
    } finally {
      this.removeWaiter(w);
      this.gc(node, st);
    }
  }

  /** Drops every POSIX lock of owner on node (last close by that owner) and wakes waiters. */
  releasePosix(node: bigint, owner: bigint): void {
    const st = this.nodes.get(node);
    if (!st) return;
    const before = st.posix.length;
    st.posix = st.posix.filter((l) => l.owner !== owner);
    if (st.posix.length !== before) this.wake(st, 'posix');
    this.gc(node, st);
  }

  /** Drops owner's flock on node (release of the open file) and wakes waiters. */
  releaseFlock(node: bigint, owner: bigint): void {
    const st = this.nodes.get(node);
    if (!st) return;
    if (st.flocks.delete(owner)) this.wake(st, 'flock');
    this.gc(node, st);
  }

  /** Drops all state of a forgotten node. Requests still waiting on it fail with ENOLCK. */
  dropNode(node: bigint): void {
    const st = this.nodes.get(node);
    if (!st) return;
    this.nodes.delete(node);
    st.dropped = true;
    st.posix = [];
    st.flocks.clear();
    for (const w of [...st.waiters]) w.wake?.();
  }

  /** Number of nodes with any state (locks or waiters); for tests and stats. */
  get size(): number {
    return this.nodes.size;
  }

  // --- internals ------------------------------------------------------------

  private state(node: bigint): NodeState {
    let st = this.nodes.get(node);
    if (!st) {
      st = { posix: [], flocks: new Map(), waiters: new Set(), dropped: false };
      this.nodes.set(node, st);
    }
    return st;
  }

  /** Forgets a node entry once it holds nothing. */
  private gc(node: bigint, st: NodeState): void {
    if (st.posix.length === 0 && st.flocks.size === 0 && st.waiters.size === 0 && this.nodes.get(node) === st) this.nodes.delete(node);
  }

  private posixConflict(st: NodeState, owner: bigint, type: number, start: number, end: number): PosixLock | undefined {
    for (const l of st.posix) {
      if (l.start > end) break; // sorted by start
      if (l.owner !== owner && l.end >= start && conflicting(l.type, type)) return l;
    }
    return undefined;
  }

  private grantPosix(st: NodeState, owner: bigint, type: number, r: NormRange, pid: number): void {
    if (this.applyPosix(st, owner, type, r, pid)) this.wake(st, 'posix');
  }

  /**
   * Replaces owner's locks over r with a lock of `type` (nothing for F_UNLCK),
   * splitting and merging as Linux does. Returns whether any existing lock was
   * removed, cut or merged (only then can a waiter have become grantable).
   */
  private applyPosix(st: NodeState, owner: bigint, type: number, r: NormRange, pid: number): boolean {
    const { start, end } = r;
    const kept: PosixLock[] = [];
    let touched = false;
    let mStart = start;
    let mEnd = end;
    let mShown = r.shownEnd;
    for (const l of st.posix) {
      if (l.owner !== owner) {
        kept.push(l);
        continue;
      }
      const overlap = l.start <= end && start <= l.end;
      const adjacent = l.end + 1 === start || end + 1 === l.start;
      if (type !== F_UNLCK && l.type === type && (overlap || adjacent)) {
        // Same type: absorb it into the new lock.
        touched = true;
        if (l.start < mStart) mStart = l.start;
        if (l.end > mEnd) {
          mEnd = l.end;
          mShown = l.shownEnd;
        }
        continue;
      }
      if (!overlap) {
        kept.push(l);
        continue;
      }
      // Different type or unlock: keep only what lies outside the range.
      touched = true;
      if (l.start < start) kept.push({ ...l, end: start - 1, shownEnd: start - 1 });
      if (l.end > end) kept.push({ ...l, start: end + 1 });
    }
    if (type !== F_UNLCK) kept.push({ owner, pid, type, start: mStart, end: mEnd, shownEnd: mShown });
    kept.sort((a, b) => a.start - b.start);
    st.posix = kept;
    return touched;
  }

  /** One flock attempt: Linux drops a lock being converted before trying the new one. */
  private tryFlock(st: NodeState, owner: bigint, type: number): boolean {
    const cur = st.flocks.get(owner);
    if (cur === type) return true;
    if (cur !== undefined) {
      st.flocks.delete(owner);
      this.wake(st, 'flock');
    }
    for (const [o, t] of st.flocks) if (o !== owner && conflicting(t, type)) return false;
    st.flocks.set(owner, type);
    return true;
  }

  private wake(st: NodeState, kind: Kind): void {
    for (const w of [...st.waiters]) if (w.kind === kind) w.wake?.();
  }

  private addWaiter(w: Waiter): void {
    w.st.waiters.add(w);
    if (w.kind !== 'posix') return;
    let set = this.posixWaiters.get(w.owner);
    if (!set) {
      set = new Set();
      this.posixWaiters.set(w.owner, set);
    }
    set.add(w);
  }

  private removeWaiter(w: Waiter): void {
    w.wake = undefined;
    w.st.waiters.delete(w);
    if (w.kind !== 'posix') return;
    const set = this.posixWaiters.get(w.owner);
    if (set?.delete(w) && set.size === 0) this.posixWaiters.delete(w.owner);
  }

  /**
   * Would `w` sleeping close a cycle? Follows "owner X holds a lock that blocks
   * a request of owner Y, which waits" edges from the owners blocking w and
   * answers true when they lead back to w's owner.
   */
  private deadlocks(w: Waiter): boolean {
    const seen = new Set<bigint>();
    const todo: bigint[] = this.blockers(w);
    while (todo.length > 0) {
      const o = todo.pop()!;
      if (o === w.owner) return true;
      if (seen.has(o)) continue;
      if (seen.size >= MAX_DEADLOCK_VISITS) return false;
      seen.add(o);
      for (const other of this.posixWaiters.get(o) ?? []) todo.push(...this.blockers(other));
    }
    return false;
  }

  /** Owners whose current POSIX locks block the waiting request. */
  private blockers(w: Waiter): bigint[] {
    const out: bigint[] = [];
    for (const l of w.st.posix) {
      if (l.start > w.end) break;
      if (l.owner !== w.owner && l.end >= w.start && conflicting(l.type, w.type)) out.push(l.owner);
    }
    return out;
  }

  /** Sleeps until woken (resolve) or until the signal aborts (EINTR). */
  private sleep(w: Waiter, signal: AbortSignal | undefined, syscall: string): Promise<void> {
    if (signal?.aborted) return Promise.reject(new FsError(Errno.EINTR, syscall));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        w.wake = undefined;
        reject(new FsError(Errno.EINTR, syscall));
      };
      w.wake = () => {
        w.wake = undefined;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
