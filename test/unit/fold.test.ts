import test from 'ava';
import type { ExecutionContext } from 'ava';
import { Errno, FsError, toErrno } from '../../src/sys/errno.js';
import {
  anySuccess,
  applyToBranches,
  linkFold,
  preferSearch,
  preferSearchBranch,
  renamePreservingFold,
  rmdirFold,
} from '../../src/union/fold.js';
import type { BranchResult } from '../../src/union/fold.js';

const ok = <T>(index: number, value: T): BranchResult<T> => ({ index, ok: true, value });
const fail = (index: number, error: unknown): BranchResult<never> => ({ index, ok: false, error });

/** A Node-style fs error (what node:fs throws), as opposed to our FsError. */
function nodeError(code: string, syscall = 'unlink'): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: fake, ${syscall}`);
  e.code = code;
  e.syscall = syscall;
  return e;
}

const enoent = () => new FsError(Errno.ENOENT, 'x');
const eacces = () => new FsError(Errno.EACCES, 'x');
const erofs = () => new FsError(Errno.EROFS, 'x');

/** Expects `f` to throw exactly `error` (the same object). */
function throwsSame(t: ExecutionContext, f: () => unknown, error: unknown): void {
  let caught: unknown = 'nothing thrown';
  try {
    f();
  } catch (e) {
    caught = e;
  }
  t.is(caught, error);
}

function throwsErrno(t: ExecutionContext, f: () => unknown, errno: number, syscall?: string): void {
  const e = t.throws(f, { instanceOf: FsError });
  t.is(e?.errno, errno);
  if (syscall !== undefined) t.is(e?.syscall, syscall);
}

// ---- anySuccess ----

test('anySuccess: all ok → first value', (t) => {
  t.is(anySuccess([ok(0, 'a'), ok(1, 'b')]), 'a');
});

test('anySuccess: any success wins over errors before and after it', (t) => {
  t.is(anySuccess([fail(0, eacces()), ok(2, 'b'), fail(3, enoent()), ok(4, 'c')]), 'b');
  t.is(anySuccess([fail(0, eacces()), fail(1, enoent()), ok(2, 'z')]), 'z');
});

test('anySuccess: all failed → the FIRST error, the same object', (t) => {
  const first = nodeError('EACCES');
  throwsSame(t, () => anySuccess([fail(0, first), fail(1, enoent()), fail(2, erofs())]), first);
  const fs = erofs();
  throwsSame(t, () => anySuccess([fail(5, fs), fail(1, first)]), fs);
});

test('anySuccess: nothing acted on → ENOENT named after the op', (t) => {
  throwsErrno(t, () => anySuccess([], 'mkdir'), Errno.ENOENT, 'mkdir');
});

test('anySuccess: undefined values are still successes', (t) => {
  t.is(anySuccess<undefined>([fail(0, eacces()), ok(1, undefined)]), undefined);
});

// ---- preferSearchBranch ----

test('preferSearchBranch: all ok → first value, whatever the search branch', (t) => {
  t.is(preferSearchBranch([ok(0, 'a'), ok(1, 'b')], 1), 'a');
  t.is(preferSearchBranch([ok(3, 'a')], undefined), 'a');
});

test('preferSearchBranch: all failed → the first error object', (t) => {
  const first = nodeError('EPERM', 'chmod');
  throwsSame(t, () => preferSearchBranch([fail(0, first), fail(1, eacces())], 1), first);
});

test('preferSearchBranch: mixed → the search branch result (ok or error)', (t) => {
  const e = erofs();
  const results = [ok(0, 'zero'), fail(1, e), ok(2, 'two')];
  t.is(preferSearchBranch(results, 0), 'zero');
  t.is(preferSearchBranch(results, 2), 'two');
  throwsSame(t, () => preferSearchBranch(results, 1), e);
  // indices are branch indices, not positions
  t.is(preferSearchBranch([fail(4, eacces()), ok(7, 'seven')], 7), 'seven');
});

test('preferSearchBranch: mixed and the search branch was not acted on → ENOENT', (t) => {
  throwsErrno(t, () => preferSearchBranch([ok(0, 'a'), fail(1, eacces())], 5, 'chown'), Errno.ENOENT, 'chown');
  throwsErrno(t, () => preferSearchBranch([ok(0, 'a'), fail(1, eacces())], undefined), Errno.ENOENT);
});

test('preferSearchBranch: nothing acted on → ENOENT', (t) => {
  throwsErrno(t, () => preferSearchBranch([], 0, 'setxattr'), Errno.ENOENT, 'setxattr');
});

// ---- rmdirFold ----

test('rmdirFold: all ok → last value', (t) => {
  t.is(rmdirFold([ok(0, 'a'), ok(1, 'b')]), 'b');
});

test('rmdirFold: otherwise the LAST result wins, ok or error', (t) => {
  const last = enoent();
  throwsSame(t, () => rmdirFold([ok(0, 'a'), fail(1, eacces()), fail(2, last)]), last);
  t.is(rmdirFold([fail(0, eacces()), fail(1, enoent()), ok(2, 'c')]), 'c');
});

test('rmdirFold: ENOTEMPTY and EEXIST are sticky and win over success', (t) => {
  const notEmpty = new FsError(Errno.ENOTEMPTY, 'rmdir');
  throwsSame(t, () => rmdirFold([ok(0, 'a'), fail(1, notEmpty), ok(2, 'c')]), notEmpty);
  const exist = nodeError('EEXIST', 'rmdir');
  throwsSame(t, () => rmdirFold([fail(0, exist), ok(1, 'b'), fail(2, enoent())]), exist);
});

test('rmdirFold: the first sticky error wins over later sticky ones', (t) => {
  const a = nodeError('ENOTEMPTY', 'rmdir');
  const b = new FsError(Errno.EEXIST, 'rmdir');
  throwsSame(t, () => rmdirFold([ok(0, 1), fail(1, a), fail(2, b)]), a);
  throwsSame(t, () => rmdirFold([fail(0, b), fail(1, a)]), b);
});

test('rmdirFold: nothing acted on → ENOENT', (t) => {
  throwsErrno(t, () => rmdirFold([], 'rmdir'), Errno.ENOENT, 'rmdir');
});

// ---- linkFold ----

test('linkFold: the first success wins', (t) => {
  t.is(linkFold([fail(0, eacces()), ok(1, 'one'), ok(2, 'two')]), 'one');
});

test('linkFold: none → the LAST error', (t) => {
  const last = nodeError('EXDEV', 'link');
  throwsSame(t, () => linkFold([fail(0, eacces()), fail(1, enoent()), fail(2, last)]), last);
  throwsErrno(t, () => linkFold([], 'link'), Errno.ENOENT, 'link');
});

// ---- renamePreservingFold ----

test('renamePreservingFold: any success → ok', (t) => {
  t.is(renamePreservingFold([fail(0, enoent()), ok(1, 'moved'), fail(2, eacces())]), 'moved');
});

test('renamePreservingFold: none → EXDEV whatever the branches said', (t) => {
  throwsErrno(t, () => renamePreservingFold([fail(0, enoent()), fail(1, eacces())]), Errno.EXDEV, 'rename');
  throwsErrno(t, () => renamePreservingFold([]), Errno.EXDEV, 'rename');
  throwsErrno(t, () => renamePreservingFold([fail(0, enoent())], 'renameat2'), Errno.EXDEV, 'renameat2');
});

// ---- applyToBranches ----

const branches = [{ index: 0, root: '/a' }, { index: 1, root: '/b' }, { index: 2, root: '/c' }];

test('applyToBranches: runs sequentially in target order and folds', async (t) => {
  const log: string[] = [];
  let running = 0;
  const v = await applyToBranches(
    branches,
    async (b) => {
      running++;
      t.is(running, 1, 'never two at once');
      log.push(`start ${b.root}`);
      await new Promise((r) => setImmediate(r));
      log.push(`end ${b.root}`);
      running--;
      return b.root.toUpperCase();
    },
    anySuccess,
  );
  t.is(v, '/A');
  t.deepEqual(log, ['start /a', 'end /a', 'start /b', 'end /b', 'start /c', 'end /c']);
});

test('applyToBranches: sync returns and sync throws are results too', async (t) => {
  const e = nodeError('ENOENT');
  const seen: BranchResult<string>[] = [];
  const v = await applyToBranches(
    branches,
    (b) => {
      if (b.index === 1) throw e;
      return b.root;
    },
    (results) => {
      seen.push(...results);
      return 'folded';
    },
  );
  t.is(v, 'folded');
  t.deepEqual(seen, [ok(0, '/a'), fail(1, e), ok(2, '/c')]);
  t.is((seen[1] as { error: unknown }).error, e, 'the original error object');
});

test('applyToBranches: results carry the branch index, not the position', async (t) => {
  const picked = [{ index: 4 }, { index: 9 }];
  let indices: number[] = [];
  await applyToBranches(picked, (b) => b.index * 10, (rs) => {
    indices = rs.map((r) => r.index);
    return 0;
  });
  t.deepEqual(indices, [4, 9]);
});

test('applyToBranches: the original error object reaches the caller (async rejection)', async (t) => {
  const first = new FsError(Errno.EACCES, 'unlink', 'x');
  const err = await t.throwsAsync(
    applyToBranches(branches, async (b) => {
      throw b.index === 0 ? first : enoent();
    }, anySuccess),
  );
  t.is(err, first);
  t.is(toErrno(err), Errno.EACCES);
});

test('applyToBranches: passes op to the rule for synthesised errors', async (t) => {
  const e = await t.throwsAsync(applyToBranches(branches, () => Promise.reject(enoent()), renamePreservingFold, 'rename'), { instanceOf: FsError });
  t.is(e?.errno, Errno.EXDEV);
  t.is(e?.syscall, 'rename');
  const none = await t.throwsAsync(applyToBranches([], () => 1, anySuccess, 'unlink'), { instanceOf: FsError });
  t.is(none?.errno, Errno.ENOENT);
  t.is(none?.syscall, 'unlink');
});

test('applyToBranches: a bug (no errno) is rethrown at once, not folded away by a success', async (t) => {
  const bug = new TypeError('oops');
  const ran: number[] = [];
  const err = await t.throwsAsync(
    applyToBranches(
      branches,
      (b) => {
        ran.push(b.index);
        if (b.index === 1) throw bug;
        return 'fine';
      },
      anySuccess,
    ),
  );
  t.is(err, bug);
  t.deepEqual(ran, [0, 1], 'stops at the bug');
});

test('applyToBranches with each rule end to end', async (t) => {
  const notEmpty = new FsError(Errno.ENOTEMPTY, 'rmdir');
  const outcome = (b: { index: number }) => (b.index === 1 ? Promise.reject(notEmpty) : Promise.resolve(`ok${b.index}`));
  await t.throwsAsync(applyToBranches(branches, outcome, rmdirFold), { is: notEmpty });
  t.is(await applyToBranches(branches, outcome, linkFold), 'ok0');
  t.is(await applyToBranches(branches, outcome, anySuccess), 'ok0');
  t.is(await applyToBranches(branches, outcome, renamePreservingFold), 'ok0');
  t.is(await applyToBranches(branches, outcome, preferSearch(2)), 'ok2');
  await t.throwsAsync(applyToBranches(branches, outcome, preferSearch(1)), { is: notEmpty });
});

test('preferSearch: the search is asked only when results are mixed', async (t) => {
  let asked = 0;
  const search = async () => {
    asked++;
    return 2;
  };
  t.is(await applyToBranches(branches, (b) => b.index, preferSearch(search)), 0, 'all ok');
  t.is(asked, 0);
  const e = eacces();
  await t.throwsAsync(applyToBranches(branches, () => Promise.reject(e), preferSearch(search)), { is: e });
  t.is(asked, 0, 'all failed');
  const mixed = (b: { index: number }) => (b.index === 0 ? Promise.reject(e) : Promise.resolve(b.index * 10));
  t.is(await applyToBranches(branches, mixed, preferSearch(search)), 20);
  t.is(asked, 1);
  t.is(await applyToBranches(branches, mixed, preferSearch(() => 1)), 10, 'a sync function works too');
  const none = await t.throwsAsync(applyToBranches(branches, mixed, preferSearch(() => undefined), 'utimens'), { instanceOf: FsError });
  t.is(none?.errno, Errno.ENOENT, 'the search found nothing');
  t.is(none?.syscall, 'utimens');
});
