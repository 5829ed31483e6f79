import test from 'ava';
import type { ExecutionContext } from 'ava';
import { F_RDLCK, F_UNLCK, F_WRLCK, LockTable, type LockInfo } from '../../src/union/locks.js';
import { Errno, FsError } from '../../src/sys/errno.js';

const N = 7n; // a node
const N2 = 8n;
const A = 0xa0n; // lock owners
const B = 0xb0n;
const C = 0xc0n;
const PID_A = 100;
const PID_B = 200;
const PID_C = 300;
/** What the kernel's OFFSET_MAX (0x7fffffffffffffff) becomes as a JS number. */
const OFFSET_MAX = Number(0x7fffffffffffffffn);
const WHOLE = { start: 0, end: OFFSET_MAX };

const r = (start: number, end: number) => ({ start, end });
const free = (start: number, end: number): LockInfo => ({ type: F_UNLCK, start, end, pid: 0 });

/** Lets queued microtasks and one macrotask turn run (no real sleeping). */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function rejectsErrno(t: ExecutionContext, p: Promise<unknown>, errno: number): Promise<void> {
  const e = await t.throwsAsync(p, { instanceOf: FsError });
  t.is(e?.errno, errno, `expected ${e?.code} to be errno ${errno}`);
}

/**
 * Expects a request that must fail without blocking: gives it a signal that
 * aborts shortly, so a regression shows up as EINTR instead of a hung test.
 */
async function failsPromptly(t: ExecutionContext, make: (signal: AbortSignal) => Promise<unknown>, errno: number): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 200);
  try {
    await rejectsErrno(t, make(ac.signal), errno);
  } finally {
    clearTimeout(timer);
  }
}

/** Tracks whether a promise has settled yet. */
function track(p: Promise<unknown>): { settled: () => boolean; p: Promise<unknown> } {
  let done = false;
  const q = p.then(
    (v) => {
      done = true;
      return v;
    },
    (e: unknown) => {
      done = true;
      throw e;
    },
  );
  return { settled: () => done, p: q };
}

// --- POSIX: conflicts ---------------------------------------------------------

test('read locks of different owners share', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(0, 99), PID_A, false);
  await lt.setlk(N, B, F_RDLCK, r(50, 149), PID_B, false);
  t.deepEqual(lt.getlk(N, C, F_RDLCK, r(0, 200), PID_C), free(0, 200));
});

test('read and write locks of different owners conflict, both ways', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(0, 99), PID_A, false);
  await rejectsErrno(t, lt.setlk(N, B, F_WRLCK, r(99, 120), PID_B, false), Errno.EAGAIN);
  // Write next to it is fine (ranges are inclusive: 100.. does not overlap ..99).
  await lt.setlk(N, B, F_WRLCK, r(100, 120), PID_B, false);
  await rejectsErrno(t, lt.setlk(N, A, F_RDLCK, r(120, 130), PID_A, false), Errno.EAGAIN);
  await rejectsErrno(t, lt.setlk(N, C, F_WRLCK, r(0, 0), PID_C, false), Errno.EAGAIN);
});

test('locks on different nodes are independent', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, WHOLE, PID_A, false);
  await lt.setlk(N2, B, F_WRLCK, WHOLE, PID_B, false);
  t.is(lt.getlk(N2, A, F_WRLCK, r(0, 10), PID_A).pid, PID_B);
  t.is(lt.getlk(N, B, F_WRLCK, r(0, 10), PID_B).pid, PID_A);
});

test('an owner never conflicts with itself', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 99), PID_A, false);
  t.deepEqual(lt.getlk(N, A, F_WRLCK, r(0, 99), PID_A), free(0, 99));
  await lt.setlk(N, A, F_WRLCK, r(50, 60), PID_A, false);
  await lt.setlk(N, A, F_RDLCK, r(10, 20), PID_A, false);
  t.pass();
});

test('getlk reports the conflicting lock: type, range and owner pid', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(10, 19), PID_A, false);
  await lt.setlk(N, B, F_WRLCK, r(30, 39), PID_B, false);
  t.deepEqual(lt.getlk(N, C, F_WRLCK, r(0, 100), PID_C), { type: F_RDLCK, start: 10, end: 19, pid: PID_A });
  t.deepEqual(lt.getlk(N, C, F_RDLCK, r(0, 100), PID_C), { type: F_WRLCK, start: 30, end: 39, pid: PID_B });
  t.deepEqual(lt.getlk(N, C, F_WRLCK, r(35, 35), PID_C), { type: F_WRLCK, start: 30, end: 39, pid: PID_B });
  t.deepEqual(lt.getlk(N, C, F_WRLCK, r(20, 29), PID_C), free(20, 29));
  // The holder of one lock is only blocked by the other.
  t.deepEqual(lt.getlk(N, A, F_WRLCK, r(0, 100), PID_A), { type: F_WRLCK, start: 30, end: 39, pid: PID_B });
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 100), PID_B), { type: F_RDLCK, start: 10, end: 19, pid: PID_A });
});

test('getlk on an unknown node echoes the request as F_UNLCK', (t) => {
  const lt = new LockTable();
  t.deepEqual(lt.getlk(99n, A, F_WRLCK, WHOLE, PID_A), { type: F_UNLCK, start: 0, end: OFFSET_MAX, pid: 0 });
  t.is(lt.size, 0);
});

// --- POSIX: same-owner upgrade, split, merge --------------------------------

test('same owner upgrades read to write in place', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(0, 99), PID_A, false);
  await lt.setlk(N, A, F_WRLCK, r(0, 99), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(0, 99), PID_B), { type: F_WRLCK, start: 0, end: 99, pid: PID_A });
});

test('upgrade is refused while another owner reads', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(0, 99), PID_A, false);
  await lt.setlk(N, B, F_RDLCK, r(50, 59), PID_B, false);
  await rejectsErrno(t, lt.setlk(N, A, F_WRLCK, r(0, 99), PID_A, false), Errno.EAGAIN);
  // The failed upgrade left A's read lock alone.
  t.deepEqual(lt.getlk(N, C, F_WRLCK, r(0, 9), PID_C), { type: F_RDLCK, start: 0, end: 99, pid: PID_A });
});

test('unlocking the middle of a write lock leaves two ranges', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 99), PID_A, false);
  await lt.setlk(N, A, F_UNLCK, r(40, 59), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(0, 99), PID_B), { type: F_WRLCK, start: 0, end: 39, pid: PID_A });
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(40, 99), PID_B), { type: F_WRLCK, start: 60, end: 99, pid: PID_A });
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(50, 50), PID_B), free(50, 50));
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(40, 59), PID_B), free(40, 59));
  await lt.setlk(N, B, F_WRLCK, r(40, 59), PID_B, false);
  await rejectsErrno(t, lt.setlk(N, B, F_WRLCK, r(39, 40), PID_B, false), Errno.EAGAIN);
  await rejectsErrno(t, lt.setlk(N, B, F_WRLCK, r(59, 60), PID_B, false), Errno.EAGAIN);
});

test('a different type in the middle splits the lock into three', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 99), PID_A, false);
  await lt.setlk(N, A, F_RDLCK, r(40, 59), PID_A, false);
  // Another reader can now share the middle, but not the ends.
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(40, 59), PID_B), free(40, 59));
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(40, 59), PID_B), { type: F_RDLCK, start: 40, end: 59, pid: PID_A });
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(0, 99), PID_B), { type: F_WRLCK, start: 0, end: 39, pid: PID_A });
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(50, 99), PID_B), { type: F_WRLCK, start: 60, end: 99, pid: PID_A });
  await lt.setlk(N, B, F_RDLCK, r(45, 50), PID_B, false);
});

test('a write lock over the tail of a read lock cuts it', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(0, 99), PID_A, false);
  await lt.setlk(N, A, F_WRLCK, r(50, 149), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 200), PID_B), { type: F_RDLCK, start: 0, end: 49, pid: PID_A });
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(0, 200), PID_B), { type: F_WRLCK, start: 50, end: 149, pid: PID_A });
});

test('adjacent and overlapping locks of the same type merge', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 9), PID_A, false);
  await lt.setlk(N, A, F_WRLCK, r(10, 19), PID_A, false); // adjacent after
  await lt.setlk(N, A, F_WRLCK, r(30, 39), PID_A, false); // a gap: separate
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 100), PID_B), { type: F_WRLCK, start: 0, end: 19, pid: PID_A });
  await lt.setlk(N, A, F_WRLCK, r(20, 29), PID_A, false); // fills the gap: one lock
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 100), PID_B), { type: F_WRLCK, start: 0, end: 39, pid: PID_A });
  await lt.setlk(N, A, F_WRLCK, r(35, 60), PID_A, false); // overlapping
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 100), PID_B), { type: F_WRLCK, start: 0, end: 60, pid: PID_A });
  // One unlock over the merged extent removes it all.
  await lt.setlk(N, A, F_UNLCK, r(0, 60), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 100), PID_B), free(0, 100));
  t.is(lt.size, 0);
});

test('adjacent locks of a different type do not merge', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(0, 9), PID_A, false);
  await lt.setlk(N, A, F_WRLCK, r(10, 19), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 100), PID_B), { type: F_RDLCK, start: 0, end: 9, pid: PID_A });
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(0, 100), PID_B), { type: F_WRLCK, start: 10, end: 19, pid: PID_A });
});

test('locks of different owners never merge', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(0, 9), PID_A, false);
  await lt.setlk(N, B, F_RDLCK, r(10, 19), PID_B, false);
  t.deepEqual(lt.getlk(N, C, F_WRLCK, r(0, 100), PID_C), { type: F_RDLCK, start: 0, end: 9, pid: PID_A });
  await lt.setlk(N, A, F_UNLCK, WHOLE, PID_A, false);
  t.deepEqual(lt.getlk(N, C, F_WRLCK, r(0, 100), PID_C), { type: F_RDLCK, start: 10, end: 19, pid: PID_B });
});

test('F_UNLCK of nothing is fine and leaves no state', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_UNLCK, r(0, 99), PID_A, false);
  await lt.setlk(N, A, F_UNLCK, WHOLE, PID_A, true);
  t.is(lt.size, 0);
  await lt.setlk(N, B, F_WRLCK, r(0, 9), PID_B, false);
  await lt.setlk(N, A, F_UNLCK, r(0, 99), PID_A, false); // A cannot unlock B's lock
  t.is(lt.getlk(N, C, F_RDLCK, r(0, 9), PID_C).pid, PID_B);
});

// --- POSIX: whole-file / huge ends --------------------------------------------

test('whole-file locks: OFFSET_MAX end is infinity and is reported back unchanged', async (t) => {
  const lt = new LockTable();
  t.true(OFFSET_MAX >= 2 ** 53);
  await lt.setlk(N, A, F_WRLCK, WHOLE, PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_RDLCK, r(2 ** 52, 2 ** 52 + 10), PID_B), { type: F_WRLCK, start: 0, end: OFFSET_MAX, pid: PID_A });
  await rejectsErrno(t, lt.setlk(N, B, F_RDLCK, r(1e15, OFFSET_MAX), PID_B, false), Errno.EAGAIN);
});

test('a lock "to EOF" from an offset, then unlock of a finite middle keeps an infinite tail', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(100, OFFSET_MAX), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 99), PID_B), free(0, 99));
  await lt.setlk(N, A, F_UNLCK, r(200, 299), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 1000), PID_B), { type: F_WRLCK, start: 100, end: 199, pid: PID_A });
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(250, 1000), PID_B), { type: F_WRLCK, start: 300, end: OFFSET_MAX, pid: PID_A });
  // Number.MAX_SAFE_INTEGER is also "to infinity", and is echoed as given.
  await lt.setlk(N, A, F_UNLCK, r(300, Number.MAX_SAFE_INTEGER), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(250, OFFSET_MAX), PID_B), free(250, OFFSET_MAX));
});

test('merging a finite lock into a whole-file lock keeps the infinite end', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_RDLCK, r(10, OFFSET_MAX), PID_A, false);
  await lt.setlk(N, A, F_RDLCK, r(0, 20), PID_A, false);
  t.deepEqual(lt.getlk(N, B, F_WRLCK, r(0, 0), PID_B), { type: F_RDLCK, start: 0, end: OFFSET_MAX, pid: PID_A });
});

test('invalid requests are EINVAL', async (t) => {
  const lt = new LockTable();
  await rejectsErrno(t, lt.setlk(N, A, 7, r(0, 1), PID_A, false), Errno.EINVAL);
  await rejectsErrno(t, lt.setlk(N, A, F_WRLCK, r(10, 5), PID_A, false), Errno.EINVAL);
  await rejectsErrno(t, lt.setlk(N, A, F_WRLCK, r(-1, 5), PID_A, false), Errno.EINVAL);
  const e = t.throws(() => lt.getlk(N, A, F_UNLCK, r(0, 1), PID_A), { instanceOf: FsError });
  t.is(e?.errno, Errno.EINVAL);
  await rejectsErrno(t, lt.flock(N, A, 9, false), Errno.EINVAL);
  t.is(lt.size, 0);
});

// --- POSIX: waiting ---------------------------------------------------------------

test('SETLKW waits and is granted when the holder unlocks', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 99), PID_A, false);
  const w = track(lt.setlk(N, B, F_WRLCK, r(50, 59), PID_B, true));
  await tick();
  t.false(w.settled());
  // An unrelated change that does not free B's range: B re-checks and keeps waiting.
  await lt.setlk(N, A, F_UNLCK, r(0, 9), PID_A, false);
  await tick();
  t.false(w.settled());
  await lt.setlk(N, A, F_UNLCK, r(40, 99), PID_A, false);
  await w.p;
  t.deepEqual(lt.getlk(N, C, F_RDLCK, r(0, 99), PID_C), { type: F_WRLCK, start: 10, end: 39, pid: PID_A });
  t.deepEqual(lt.getlk(N, C, F_RDLCK, r(40, 99), PID_C), { type: F_WRLCK, start: 50, end: 59, pid: PID_B });
});

test('SETLKW is granted when the holder downgrades to a read lock', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, WHOLE, PID_A, false);
  const w = track(lt.setlk(N, B, F_RDLCK, r(0, 9), PID_B, true));
  await tick();
  t.false(w.settled());
  await lt.setlk(N, A, F_RDLCK, WHOLE, PID_A, false);
  await w.p;
  t.deepEqual(lt.getlk(N, C, F_WRLCK, r(0, 0), PID_C).type, F_RDLCK);
});

test('several waiters: readers are all granted, a writer keeps waiting', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, WHOLE, PID_A, false);
  const r1 = track(lt.setlk(N, B, F_RDLCK, r(0, 9), PID_B, true));
  const r2 = track(lt.setlk(N, C, F_RDLCK, r(5, 15), PID_C, true));
  const wr = track(lt.setlk(N, 0xd0n, F_WRLCK, r(0, 0), 400, true));
  await tick();
  t.false(r1.settled() || r2.settled() || wr.settled());
  lt.releasePosix(N, A);
  await Promise.all([r1.p, r2.p]);
  await tick();
  t.false(wr.settled());
  lt.releasePosix(N, B);
  await tick();
  t.true(wr.settled()); // r(0,0) is free now (C holds 5..15)
  await wr.p;
});

test('SETLK without wait does not block and keeps no state', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 9), PID_A, false);
  await rejectsErrno(t, lt.setlk(N, B, F_WRLCK, r(0, 9), PID_B, false), Errno.EAGAIN);
  await rejectsErrno(t, lt.setlk(N, B, F_RDLCK, r(9, 9), PID_B, false), Errno.EAGAIN);
  t.is(lt.size, 1);
  lt.releasePosix(N, A);
  t.is(lt.size, 0);
});

test('SETLKW aborted through its AbortSignal fails with EINTR and leaves no waiter', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 99), PID_A, false);
  const ac = new AbortController();
  const w = lt.setlk(N, B, F_WRLCK, r(0, 0), PID_B, true, ac.signal);
  await tick();
  ac.abort();
  await rejectsErrno(t, w, Errno.EINTR);
  // B got nothing, and the table forgets the node once A lets go.
  t.deepEqual(lt.getlk(N, C, F_WRLCK, r(0, 0), PID_C).pid, PID_A);
  lt.releasePosix(N, A);
  t.is(lt.size, 0);
});

test('SETLKW with an already-aborted signal: EINTR if it would block, granted if free', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  const ac = new AbortController();
  ac.abort();
  await lt.setlk(N, A, F_WRLCK, r(0, 9), PID_A, true, ac.signal);
  await rejectsErrno(t, lt.setlk(N, B, F_WRLCK, r(0, 9), PID_B, true, ac.signal), Errno.EINTR);
});

test('deadlock between two owners is EDEADLK; the other waiter survives', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 9), PID_A, false);
  await lt.setlk(N, B, F_WRLCK, r(10, 19), PID_B, false);
  const bWaits = track(lt.setlk(N, B, F_WRLCK, r(0, 9), PID_B, true)); // B waits on A
  await tick();
  await failsPromptly(t, (sig) => lt.setlk(N, A, F_WRLCK, r(10, 19), PID_A, true, sig), Errno.EDEADLK); // A would wait on B
  t.false(bWaits.settled());
  lt.releasePosix(N, A);
  await bWaits.p;
  t.deepEqual(lt.getlk(N, C, F_RDLCK, r(0, 19), PID_C), { type: F_WRLCK, start: 0, end: 19, pid: PID_B });
});

test('deadlock through three owners and two nodes is detected', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 0), PID_A, false);
  await lt.setlk(N, B, F_WRLCK, r(1, 1), PID_B, false);
  await lt.setlk(N2, C, F_WRLCK, r(0, 0), PID_C, false);
  const ac = new AbortController();
  const aWaits = lt.setlk(N, A, F_WRLCK, r(1, 1), PID_A, true, ac.signal); // A → B
  const bWaits = lt.setlk(N2, B, F_WRLCK, r(0, 0), PID_B, true, ac.signal); // B → C
  await tick();
  await failsPromptly(t, (sig) => lt.setlk(N, C, F_RDLCK, r(0, 0), PID_C, true, sig), Errno.EDEADLK); // C → A: cycle
  // Waiting without a cycle is fine: D waits on A.
  const dWaits = lt.setlk(N, 0xd0n, F_RDLCK, r(0, 0), 400, true, ac.signal);
  ac.abort();
  await rejectsErrno(t, aWaits, Errno.EINTR);
  await rejectsErrno(t, bWaits, Errno.EINTR);
  await rejectsErrno(t, dWaits, Errno.EINTR);
});

test('a non-waiting SETLK never reports EDEADLK', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 9), PID_A, false);
  await lt.setlk(N, B, F_WRLCK, r(10, 19), PID_B, false);
  const ac = new AbortController();
  const bWaits = lt.setlk(N, B, F_WRLCK, r(0, 9), PID_B, true, ac.signal);
  await tick();
  await rejectsErrno(t, lt.setlk(N, A, F_WRLCK, r(10, 19), PID_A, false), Errno.EAGAIN);
  ac.abort();
  await rejectsErrno(t, bWaits, Errno.EINTR);
});

test('releasePosix drops all of an owner’s locks on the node and wakes a waiter', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 9), PID_A, false);
  await lt.setlk(N, A, F_RDLCK, r(100, 109), PID_A, false);
  await lt.setlk(N2, A, F_WRLCK, r(0, 9), PID_A, false);
  const w = track(lt.setlk(N, B, F_WRLCK, r(0, 200), PID_B, true));
  await tick();
  t.false(w.settled());
  lt.releasePosix(N, A);
  await w.p;
  t.is(lt.getlk(N, C, F_RDLCK, r(0, 200), PID_C).pid, PID_B);
  t.is(lt.getlk(N2, C, F_RDLCK, r(0, 9), PID_C).pid, PID_A, 'other nodes keep their locks');
  lt.releasePosix(N, B);
  lt.releasePosix(N2, A);
  t.is(lt.size, 0);
});

test('releasePosix of an owner with no locks is a no-op', (t) => {
  const lt = new LockTable();
  lt.releasePosix(N, A);
  lt.releaseFlock(N, A);
  t.is(lt.size, 0);
});

// --- flock ----------------------------------------------------------------------

test('flock: SH and SH share', async (t) => {
  const lt = new LockTable();
  await lt.flock(N, A, F_RDLCK, false);
  await lt.flock(N, B, F_RDLCK, false);
  t.pass();
});

test('flock: SH/EX and EX/EX conflict with EAGAIN', async (t) => {
  const lt = new LockTable();
  await lt.flock(N, A, F_RDLCK, false);
  await rejectsErrno(t, lt.flock(N, B, F_WRLCK, false), Errno.EAGAIN);
  await lt.flock(N, A, F_UNLCK, false);
  await lt.flock(N, B, F_WRLCK, false);
  await rejectsErrno(t, lt.flock(N, A, F_RDLCK, false), Errno.EAGAIN);
  await rejectsErrno(t, lt.flock(N, A, F_WRLCK, false), Errno.EAGAIN);
});

test('flock: the same owner may repeat and convert its lock', async (t) => {
  const lt = new LockTable();
  await lt.flock(N, A, F_RDLCK, false);
  await lt.flock(N, A, F_RDLCK, false);
  await lt.flock(N, A, F_WRLCK, false); // SH → EX
  await rejectsErrno(t, lt.flock(N, B, F_RDLCK, false), Errno.EAGAIN);
  await lt.flock(N, A, F_RDLCK, false); // EX → SH
  await lt.flock(N, B, F_RDLCK, false);
});

test('flock: a failed non-blocking conversion drops the old lock (Linux behaviour)', async (t) => {
  const lt = new LockTable();
  await lt.flock(N, A, F_RDLCK, false);
  await lt.flock(N, B, F_RDLCK, false);
  await rejectsErrno(t, lt.flock(N, A, F_WRLCK, false), Errno.EAGAIN);
  // A's SH lock is gone: B can convert to EX.
  await lt.flock(N, B, F_WRLCK, false);
});

test('flock: LOCK_EX waits for LOCK_UN, and for release of the open file', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.flock(N, A, F_RDLCK, false);
  await lt.flock(N, B, F_RDLCK, false);
  const w = track(lt.flock(N, C, F_WRLCK, true));
  await tick();
  t.false(w.settled());
  await lt.flock(N, A, F_UNLCK, false);
  await tick();
  t.false(w.settled(), 'B still shares');
  lt.releaseFlock(N, B);
  await w.p;
  await rejectsErrno(t, lt.flock(N, A, F_RDLCK, false), Errno.EAGAIN);
  lt.releaseFlock(N, C);
  t.is(lt.size, 0);
});

test('flock: a blocking conversion waits for the other sharer', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.flock(N, A, F_RDLCK, false);
  await lt.flock(N, B, F_RDLCK, false);
  const w = track(lt.flock(N, A, F_WRLCK, true));
  await tick();
  t.false(w.settled());
  await lt.flock(N, B, F_UNLCK, false);
  await w.p;
  await rejectsErrno(t, lt.flock(N, B, F_RDLCK, false), Errno.EAGAIN);
});

test('flock: waiting is aborted with EINTR', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.flock(N, A, F_WRLCK, false);
  const ac = new AbortController();
  const w = lt.flock(N, B, F_WRLCK, true, ac.signal);
  await tick();
  ac.abort();
  await rejectsErrno(t, w, Errno.EINTR);
  lt.releaseFlock(N, A);
  t.is(lt.size, 0);
});

test('flock and POSIX locks never conflict', async (t) => {
  const lt = new LockTable();
  await lt.flock(N, A, F_WRLCK, false);
  await lt.setlk(N, B, F_WRLCK, WHOLE, PID_B, false);
  t.deepEqual(lt.getlk(N, C, F_RDLCK, r(0, 9), PID_C).pid, PID_B);
  await lt.flock(N, C, F_RDLCK, false).then(
    () => t.fail('C should not get SH next to A’s EX'),
    (e: unknown) => t.is((e as FsError).errno, Errno.EAGAIN),
  );
  // Releasing the flock does not touch the POSIX lock and vice versa.
  lt.releaseFlock(N, A);
  t.is(lt.getlk(N, C, F_RDLCK, r(0, 9), PID_C).pid, PID_B);
  await lt.flock(N, C, F_WRLCK, false);
  lt.releasePosix(N, B);
  await rejectsErrno(t, lt.flock(N, A, F_RDLCK, false), Errno.EAGAIN);
  // Owner ids may coincide across namespaces without effect.
  await lt.setlk(N, C, F_WRLCK, WHOLE, PID_C, false);
  lt.releasePosix(N, C);
  await rejectsErrno(t, lt.flock(N, A, F_RDLCK, false), Errno.EAGAIN);
});

test('a POSIX release does not wake flock waiters into a grant (and vice versa)', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.flock(N, A, F_WRLCK, false);
  await lt.setlk(N, A, F_WRLCK, WHOLE, PID_A, false);
  const fw = track(lt.flock(N, B, F_WRLCK, true));
  const pw = track(lt.setlk(N, B, F_WRLCK, WHOLE, PID_B, true));
  await tick();
  lt.releasePosix(N, A);
  await pw.p;
  await tick();
  t.false(fw.settled());
  lt.releaseFlock(N, A);
  await fw.p;
});

// --- dropNode / state hygiene ---------------------------------------------------------

test('dropNode forgets every lock of the node', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, WHOLE, PID_A, false);
  await lt.flock(N, A, F_WRLCK, false);
  await lt.setlk(N2, A, F_WRLCK, WHOLE, PID_A, false);
  t.is(lt.size, 2);
  lt.dropNode(N);
  t.is(lt.size, 1);
  t.deepEqual(lt.getlk(N, B, F_WRLCK, WHOLE, PID_B), free(0, OFFSET_MAX));
  await lt.setlk(N, B, F_WRLCK, WHOLE, PID_B, false);
  await lt.flock(N, B, F_WRLCK, false);
  t.is(lt.getlk(N2, B, F_WRLCK, WHOLE, PID_B).pid, PID_A);
  lt.dropNode(N);
  lt.dropNode(N2);
  lt.dropNode(N2);
  t.is(lt.size, 0);
});

test('dropNode fails requests still waiting on the node with ENOLCK', async (t) => {
  t.timeout(5000);
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, WHOLE, PID_A, false);
  await lt.flock(N, A, F_WRLCK, false);
  const pw = lt.setlk(N, B, F_RDLCK, r(0, 0), PID_B, true);
  const fw = lt.flock(N, B, F_RDLCK, true);
  await tick();
  lt.dropNode(N);
  await rejectsErrno(t, pw, Errno.ENOLCK);
  await rejectsErrno(t, fw, Errno.ENOLCK);
  t.is(lt.size, 0);
});

test('state is freed when the last lock goes away', async (t) => {
  const lt = new LockTable();
  await lt.setlk(N, A, F_WRLCK, r(0, 9), PID_A, false);
  await lt.setlk(N, A, F_WRLCK, r(20, 29), PID_A, false);
  await lt.flock(N, A, F_RDLCK, false);
  await lt.setlk(N, A, F_UNLCK, r(0, 29), PID_A, false);
  t.is(lt.size, 1, 'the flock remains');
  await lt.flock(N, A, F_UNLCK, false);
  t.is(lt.size, 0);
  await rejectsErrno(t, lt.setlk(N2, A, F_WRLCK, r(10, 5), PID_A, false), Errno.EINVAL);
  t.is(lt.size, 0);
});

// --- model check ------------------------------------------------------------------

test('random POSIX operations agree with a byte-by-byte model', async (t) => {
  // Bytes 0..63 are themselves; byte 64 stands for the infinite tail 64..EOF.
  const TAIL = 64;
  const owners = [A, B, C];
  const pids = new Map<bigint, number>([
    [A, PID_A],
    [B, PID_B],
    [C, PID_C],
  ]);
  const model = new Map<bigint, Array<number | undefined>>(owners.map((o) => [o, new Array<number | undefined>(TAIL + 1).fill(undefined)]));
  const lt = new LockTable();
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const toEnd = (b: number): number => (b === TAIL ? OFFSET_MAX : b);
  const fromEnd = (e: number): number => (e === OFFSET_MAX ? TAIL : e);

  for (let step = 0; step < 3000; step++) {
    const o = owners[rand(owners.length)]!;
    const type = [F_RDLCK, F_WRLCK, F_UNLCK][rand(3)]!;
    const s = rand(TAIL + 1);
    const e = s === TAIL ? TAIL : Math.min(TAIL, s + rand(rand(2) ? 8 : 70));
    const mine = model.get(o)!;
    let blocked = false;
    if (type !== F_UNLCK) {
      for (const [p, bytes] of model) {
        if (p === o) continue;
        for (let b = s; b <= e; b++) if (bytes[b] !== undefined && (bytes[b] === F_WRLCK || type === F_WRLCK)) blocked = true;
      }
    }
    try {
      await lt.setlk(N, o, type, r(s, toEnd(e)), pids.get(o)!, false);
      if (blocked) return t.fail(`step ${step}: granted a conflicting lock`);
      for (let b = s; b <= e; b++) mine[b] = type === F_UNLCK ? undefined : type;
    } catch (err) {
      if (!blocked || !(err instanceof FsError) || err.errno !== Errno.EAGAIN) return t.fail(`step ${step}: unexpected ${String(err)}`);
    }

    // Check what every owner sees at a few bytes.
    for (let k = 0; k < 4; k++) {
      const b = rand(TAIL + 1);
      for (const q of owners) {
        const got = lt.getlk(N, q, F_WRLCK, r(b, toEnd(b)), pids.get(q)!);
        const holders = owners.filter((p) => p !== q && model.get(p)![b] !== undefined);
        if (holders.length === 0) {
          if (got.type !== F_UNLCK) return t.fail(`step ${step}: byte ${b} should be free for ${q}`);
          continue;
        }
        const holder = owners.find((p) => pids.get(p) === got.pid);
        if (holder === undefined || !holders.includes(holder)) return t.fail(`step ${step}: byte ${b}: wrong holder pid ${got.pid}`);
        const bytes = model.get(holder)!;
        if (got.type !== bytes[b]) return t.fail(`step ${step}: byte ${b}: wrong type`);
        // The reported lock is the maximal run of that owner's same-type bytes (adjacent locks merge).
        let lo = b;
        while (lo > 0 && bytes[lo - 1] === got.type) lo--;
        let hi = b;
        while (hi < TAIL && bytes[hi + 1] === got.type) hi++;
        if (got.start !== lo || fromEnd(got.end) !== hi) {
          return t.fail(`step ${step}: byte ${b}: reported ${got.start}..${got.end}, model ${lo}..${hi}`);
        }
      }
    }
  }
  for (const o of owners) lt.releasePosix(N, o);
  t.is(lt.size, 0);
});
