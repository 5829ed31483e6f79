// Unit tests for dispatch (src/fuse/dispatch.ts): the one place where thrown
// errors become errno replies and reply values become bytes. Requests are
// built by hand as typed objects; no kernel, no mount.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import * as abi from '../../src/fuse/abi.js';
import { Opcode } from '../../src/fuse/abi.js';
import { dispatch, replyChannel, type Handlers, type Outcome } from '../../src/fuse/dispatch.js';
import type { Header, HandledOpcode, Req } from '../../src/fuse/protocol.js';
import type { EntryReply, FuseAttr } from '../../src/fuse/replies.js';
import { Errno, ErrnoAnswer, FsError } from '../../src/sys/errno.js';
import { createLogger, type Logger, type LogLevel } from '../../src/sys/log.js';

let nextUnique = 1000n;
const hdr = (opcode: HandledOpcode, nodeid = 1n): Header => ({ unique: nextUnique++, opcode, nodeid, uid: 1000, gid: 1000, pid: 4242 });

const lookupReq = (name = 'x'): Req<Opcode.LOOKUP> => ({ op: Opcode.LOOKUP, h: hdr(Opcode.LOOKUP), name: Buffer.from(name) });
const getattrReq = (): Req<Opcode.GETATTR> => ({ op: Opcode.GETATTR, h: hdr(Opcode.GETATTR, 5n), getattrFlags: 0, dummy: 0, fh: 0n });
const writeReq = (data: Buffer): Req<Opcode.WRITE> => ({
  op: Opcode.WRITE,
  h: hdr(Opcode.WRITE, 5n),
  fh: 3n,
  offset: 0,
  size: data.length,
  writeFlags: 0,
  lockOwner: 0n,
  flags: 0,
  padding: 0,
  data,
});
const readReq = (): Req<Opcode.READ> => ({
  op: Opcode.READ,
  h: hdr(Opcode.READ, 5n),
  fh: 3n,
  offset: 0,
  size: 4096,
  readFlags: 0,
  lockOwner: 0n,
  flags: 0,
  padding: 0,
});
const unlinkReq = (): Req<Opcode.UNLINK> => ({ op: Opcode.UNLINK, h: hdr(Opcode.UNLINK), name: Buffer.from('gone') });
const forgetReq = (): Req<Opcode.FORGET> => ({ op: Opcode.FORGET, h: hdr(Opcode.FORGET, 5n), nlookup: 1n });
const releaseReq = (): Req<Opcode.RELEASE> => ({ op: Opcode.RELEASE, h: hdr(Opcode.RELEASE, 5n), fh: 3n, flags: 0, releaseFlags: 0, lockOwner: 0n });
const openReq = (): Req<Opcode.OPEN> => ({ op: Opcode.OPEN, h: hdr(Opcode.OPEN, 5n), flags: 0, openFlags: 0 });
const createReq = (): Req<Opcode.CREATE> => ({ op: Opcode.CREATE, h: hdr(Opcode.CREATE), flags: 0o101, mode: 0o100644, umask: 0o22, openFlags: 0, name: Buffer.from('new') });
const statfsReq = (): Req<Opcode.STATFS> => ({ op: Opcode.STATFS, h: hdr(Opcode.STATFS) });
const getxattrReq = (size: number): Req<Opcode.GETXATTR> => ({ op: Opcode.GETXATTR, h: hdr(Opcode.GETXATTR, 5n), size, name: Buffer.from('user.x') });
const lseekReq = (): Req<Opcode.LSEEK> => ({ op: Opcode.LSEEK, h: hdr(Opcode.LSEEK, 5n), fh: 3n, offset: 0n, whence: 3, padding: 0 });
const getlkReq = (): Req<Opcode.GETLK> => ({
  op: Opcode.GETLK,
  h: hdr(Opcode.GETLK, 5n),
  fh: 3n,
  owner: 7n,
  lk: { start: 0, end: 99, type: 1, pid: 0 },
  lkFlags: 0,
});

const attr: FuseAttr = {
  ino: 0x1122334455n,
  mode: 0o100644,
  nlink: 1,
  uid: 1000,
  gid: 1000,
  rdev: 0,
  size: 12345,
  blksize: 4096,
  blocks: 24,
  atimeSec: 1_700_000_000,
  atimeNsec: 1,
  mtimeSec: 1_700_000_001,
  mtimeNsec: 2,
  ctimeSec: 1_700_000_002,
  ctimeNsec: 3,
};
const entry = (nodeid: bigint): EntryReply => ({ nodeid, generation: 0n, attr, entryValid: 1, attrValid: 1 });

/** A logger that keeps every line it would write, at every level. */
function captureLog(level: LogLevel = 'debug'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger(level, (l) => lines.push(l)), lines };
}

const signal = (): AbortSignal => new AbortController().signal;

function failed(t: ExecutionContext, o: Outcome, errno: number): void {
  t.is(o.errno, errno, `expected errno ${errno}, got ${o.errno}`);
  t.is(o.body, undefined, 'an error reply has no body');
}

// --- errors -----------------------------------------------------------------------

test('an opcode without a handler gets ENOSYS and logs nothing', async (t) => {
  const { log, lines } = captureLog();
  failed(t, await dispatch({}, lookupReq(), signal(), log), Errno.ENOSYS);
  failed(t, await dispatch({}, statfsReq(), signal(), log), Errno.ENOSYS);
  // Handlers for other opcodes do not count.
  const handlers: Handlers = { [Opcode.GETATTR]: async () => ({ attr, valid: 1 }) };
  failed(t, await dispatch(handlers, lookupReq(), signal(), log), Errno.ENOSYS);
  t.deepEqual(lines, []);
});

test('a thrown FsError becomes its errno, with no log line', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.LOOKUP]: async () => {
      throw new FsError(Errno.ENOENT, 'lookup', 'x');
    },
    [Opcode.UNLINK]: async () => {
      throw new FsError(Errno.EISDIR);
    },
  };
  failed(t, await dispatch(handlers, lookupReq(), signal(), log), Errno.ENOENT);
  failed(t, await dispatch(handlers, unlinkReq(), signal(), log), Errno.EISDIR);
  t.deepEqual(lines, []);
});

test('an ErrnoAnswer returned (not thrown), at once or through a promise, becomes its errno, with no log line', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.LOOKUP]: () => new ErrnoAnswer(Errno.ENOENT),
    [Opcode.UNLINK]: async () => new ErrnoAnswer(Errno.EBUSY),
  };
  const now = dispatch(handlers, lookupReq(), signal(), log);
  t.false(now instanceof Promise, 'answered without a promise');
  failed(t, await now, Errno.ENOENT);
  failed(t, await dispatch(handlers, unlinkReq(), signal(), log), Errno.EBUSY);
  t.deepEqual(lines, []);
});

test('a Node-style error with an errno code becomes that errno, with no log line', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.LOOKUP]: async () => {
      throw Object.assign(new Error('x'), { code: 'EACCES' });
    },
    [Opcode.STATFS]: async () => {
      throw Object.assign(new Error('no space'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    },
  };
  failed(t, await dispatch(handlers, lookupReq(), signal(), log), Errno.EACCES);
  failed(t, await dispatch(handlers, statfsReq(), signal(), log), Errno.ENOSPC);
  t.deepEqual(lines, []);
});

test('a real error from node:fs becomes its errno', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.READLINK]: async () => readFile('/nonexistent-braidfs-unit-test/x'),
  };
  const req: Req<Opcode.READLINK> = { op: Opcode.READLINK, h: hdr(Opcode.READLINK, 5n) };
  failed(t, await dispatch(handlers, req, signal(), log), Errno.ENOENT);
  t.deepEqual(lines, []);
});

test('a plain object with an errno code (not an Error) is still a filesystem error', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.LOOKUP]: async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what some libraries throw
      throw { code: 'EROFS' };
    },
  };
  failed(t, await dispatch(handlers, lookupReq(), signal(), log), Errno.EROFS);
  t.deepEqual(lines, []);
});

test('a TypeError is a bug: EIO and exactly one error line naming the opcode', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.GETATTR]: async () => {
      throw new TypeError('cannot read properties of undefined (reading "mode")');
    },
  };
  const req = getattrReq();
  failed(t, await dispatch(handlers, req, signal(), log), Errno.EIO);
  t.is(lines.length, 1, lines.join(''));
  const line = lines[0] ?? '';
  t.regex(line, /\berror: /);
  t.regex(line, /\bGETATTR\b/);
  t.true(line.includes(String(req.h.unique)), 'the line names the request');
  t.true(line.includes('reading "mode"'), 'the line carries the message');
});

test('a bug is logged even when the logger only shows errors', async (t) => {
  const { log, lines } = captureLog('error');
  const handlers: Handlers = {
    [Opcode.LOOKUP]: async () => {
      throw new RangeError('boom');
    },
  };
  failed(t, await dispatch(handlers, lookupReq(), signal(), log), Errno.EIO);
  t.is(lines.length, 1);
  t.regex(lines[0] ?? '', /LOOKUP.*boom|boom[\s\S]*LOOKUP/);
});

test('a Node error whose code is not an errno is a bug: EIO and a log line', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.WRITE]: async () => {
      throw Object.assign(new TypeError('The "fd" argument must be of type number'), { code: 'ERR_INVALID_ARG_TYPE' });
    },
  };
  failed(t, await dispatch(handlers, writeReq(Buffer.from('abc')), signal(), log), Errno.EIO);
  t.is(lines.length, 1);
  t.regex(lines[0] ?? '', /\bWRITE\b/);
});

test('throwing a non-error value is a bug: EIO and a log line', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.LOOKUP]: async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
      throw 'a string';
    },
    [Opcode.UNLINK]: async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
      throw undefined;
    },
    [Opcode.FORGET]: async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
      throw { code: 42 };
    },
  };
  failed(t, await dispatch(handlers, lookupReq(), signal(), log), Errno.EIO);
  failed(t, await dispatch(handlers, unlinkReq(), signal(), log), Errno.EIO);
  failed(t, await dispatch(handlers, forgetReq(), signal(), log), Errno.EIO);
  t.is(lines.length, 3);
  t.true(lines[0]?.includes('a string'));
  t.regex(lines[1] ?? '', /\bUNLINK\b/);
  t.regex(lines[2] ?? '', /\bFORGET\b/);
});

test('a handler that throws synchronously is caught too', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.LOOKUP]: () => {
      throw new FsError(Errno.ENAMETOOLONG);
    },
    [Opcode.GETATTR]: () => {
      throw new Error('sync bug');
    },
  };
  failed(t, await dispatch(handlers, lookupReq(), signal(), log), Errno.ENAMETOOLONG);
  failed(t, await dispatch(handlers, getattrReq(), signal(), log), Errno.EIO);
  t.is(lines.length, 1);
});

test('dispatch never rejects, whatever the handlers do', async (t) => {
  const { log } = captureLog();
  const handlers: Handlers = {
    [Opcode.LOOKUP]: async () => {
      throw new Error('x');
    },
    [Opcode.GETATTR]: () => Promise.reject(new FsError(Errno.ESTALE)),
  };
  const outcomes = await Promise.all([
    dispatch(handlers, lookupReq(), signal(), log),
    dispatch(handlers, getattrReq(), signal(), log),
    dispatch(handlers, statfsReq(), signal(), log),
  ]);
  t.deepEqual(
    outcomes.map((o) => o.errno),
    [Errno.EIO, Errno.ESTALE, Errno.ENOSYS],
  );
});

// --- success ----------------------------------------------------------------------

test('the handler gets the request and the signal', async (t) => {
  const { log } = captureLog();
  const ac = new AbortController();
  const req = lookupReq('hello');
  let seen: { req: Req<Opcode.LOOKUP>; signal: AbortSignal } | undefined;
  const handlers: Handlers = {
    [Opcode.LOOKUP]: async (r, s) => {
      seen = { req: r, signal: s };
      return entry(9n);
    },
  };
  const o = await dispatch(handlers, req, ac.signal, log);
  t.is(o.errno, 0);
  t.is(seen?.req, req);
  t.is(seen?.signal, ac.signal);
});

test('LOOKUP: errno 0 and a 128-byte fuse_entry_out', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = { [Opcode.LOOKUP]: async () => entry(0xabcdn) };
  const o = await dispatch(handlers, lookupReq(), signal(), log);
  t.is(o.errno, 0);
  t.is(o.body?.length, 128);
  t.is(o.body?.readBigUInt64LE(abi.EntryOut.offsets.nodeid), 0xabcdn);
  t.is(o.body?.readBigUInt64LE(abi.ENTRY_OUT_ATTR_OFFSET + abi.Attr.offsets.ino), attr.ino);
  t.is(o.body?.readUInt32LE(abi.ENTRY_OUT_ATTR_OFFSET + abi.Attr.offsets.mode), attr.mode);
  t.deepEqual(lines, []);
});

test('GETATTR: a 104-byte fuse_attr_out', async (t) => {
  const { log } = captureLog();
  const handlers: Handlers = { [Opcode.GETATTR]: async () => ({ attr, valid: 2.5 }) };
  const o = await dispatch(handlers, getattrReq(), signal(), log);
  t.is(o.errno, 0);
  t.is(o.body?.length, 104);
  t.is(o.body?.readBigUInt64LE(abi.AttrOut.offsets.attrValid), 2n);
  t.is(o.body?.readUInt32LE(abi.AttrOut.offsets.attrValidNsec), 500_000_000);
  t.is(o.body?.readBigUInt64LE(abi.ATTR_OUT_ATTR_OFFSET + abi.Attr.offsets.ino), attr.ino);
  t.is(o.body?.readBigUInt64LE(abi.ATTR_OUT_ATTR_OFFSET + abi.Attr.offsets.size), BigInt(attr.size));
});

test('WRITE: an 8-byte fuse_write_out carrying the count', async (t) => {
  const { log } = captureLog();
  const handlers: Handlers = { [Opcode.WRITE]: async (r) => r.data.length };
  const o = await dispatch(handlers, writeReq(Buffer.alloc(3000)), signal(), log);
  t.is(o.errno, 0);
  t.is(o.body?.length, 8);
  t.is(o.body?.readUInt32LE(0), 3000);
  t.is(o.body?.readUInt32LE(4), 0);
});

test('void opcodes: errno 0 and no body', async (t) => {
  const { log, lines } = captureLog();
  const handlers: Handlers = {
    [Opcode.UNLINK]: async () => undefined,
    [Opcode.FORGET]: async () => undefined,
    [Opcode.RELEASE]: async () => undefined,
  };
  for (const req of [unlinkReq(), forgetReq(), releaseReq()]) {
    const o = await dispatch(handlers, req, signal(), log);
    t.deepEqual(o, { errno: 0, body: undefined }, Opcode[req.op]);
  }
  t.deepEqual(lines, []);
});

test('OPEN and CREATE: fuse_open_out, and fuse_entry_out followed by it', async (t) => {
  const { log } = captureLog();
  const open = { fh: 77n, openFlags: abi.FOPEN_KEEP_CACHE, backingId: 0 };
  const handlers: Handlers = {
    [Opcode.OPEN]: async () => open,
    [Opcode.CREATE]: async () => ({ entry: entry(12n), open }),
  };
  const o = await dispatch(handlers, openReq(), signal(), log);
  t.is(o.errno, 0);
  t.is(o.body?.length, 16);
  t.is(o.body?.readBigUInt64LE(0), 77n);
  t.is(o.body?.readUInt32LE(8), abi.FOPEN_KEEP_CACHE);
  const c = await dispatch(handlers, createReq(), signal(), log);
  t.is(c.errno, 0);
  t.is(c.body?.length, 128 + 16);
  t.is(c.body?.readBigUInt64LE(0), 12n);
  t.is(c.body?.readBigUInt64LE(128), 77n);
});

test('STATFS: an 80-byte fuse_statfs_out', async (t) => {
  const { log } = captureLog();
  const handlers: Handlers = {
    [Opcode.STATFS]: async () => ({ blocks: 100, bfree: 50, bavail: 40, files: 10, ffree: 5, bsize: 4096, namelen: 255, frsize: 4096 }),
  };
  const o = await dispatch(handlers, statfsReq(), signal(), log);
  t.is(o.errno, 0);
  t.is(o.body?.length, 80);
  t.is(o.body?.readBigUInt64LE(0), 100n);
});

test('READ and READLINK: the returned bytes are the body', async (t) => {
  const { log } = captureLog();
  const data = Buffer.from([0xff, 0, 1, 2, 0xfe]);
  const handlers: Handlers = {
    [Opcode.READ]: async () => data,
    [Opcode.READLINK]: async () => Buffer.from('target'),
  };
  const o = await dispatch(handlers, readReq(), signal(), log);
  t.is(o.errno, 0);
  t.is(o.body?.toString('hex'), data.toString('hex'));
  const l = await dispatch(handlers, { op: Opcode.READLINK, h: hdr(Opcode.READLINK) }, signal(), log);
  t.is(l.body?.toString(), 'target');
  // An empty read (EOF) is a success with an empty body.
  const empty = await dispatch({ [Opcode.READ]: async () => Buffer.alloc(0) }, readReq(), signal(), log);
  t.is(empty.errno, 0);
  t.is(empty.body?.length, 0);
});

test('GETXATTR: a size probe gets fuse_getxattr_out, a value gets the bytes', async (t) => {
  const { log } = captureLog();
  const handlers: Handlers = { [Opcode.GETXATTR]: async (r) => (r.size === 0 ? 5 : Buffer.from('value')) };
  const probe = await dispatch(handlers, getxattrReq(0), signal(), log);
  t.is(probe.errno, 0);
  t.is(probe.body?.length, 8);
  t.is(probe.body?.readUInt32LE(0), 5);
  const value = await dispatch(handlers, getxattrReq(100), signal(), log);
  t.is(value.body?.toString(), 'value');
});

test('LSEEK and GETLK encode their replies', async (t) => {
  const { log } = captureLog();
  const handlers: Handlers = {
    [Opcode.LSEEK]: async () => 2 ** 40 + 3,
    [Opcode.GETLK]: async () => ({ start: 10, end: 20, type: 2, pid: 99 }),
  };
  const s = await dispatch(handlers, lseekReq(), signal(), log);
  t.is(s.body?.length, 8);
  t.is(s.body?.readBigUInt64LE(0), 2n ** 40n + 3n);
  const l = await dispatch(handlers, getlkReq(), signal(), log);
  t.is(l.body?.length, 24);
  t.is(l.body?.readBigUInt64LE(0), 10n);
  t.is(l.body?.readBigUInt64LE(8), 20n);
  t.is(l.body?.readUInt32LE(16), 2);
  t.is(l.body?.readUInt32LE(20), 99);
});

// --- tracing ----------------------------------------------------------------------

test('every outcome is published on the reply channel with its errno name', async (t) => {
  const { log } = captureLog();
  const seen = new Map<bigint, string>();
  const onReply = (m: unknown): void => {
    const msg = m as { req: { h: Header }; outcome: Outcome; errname: string };
    seen.set(msg.req.h.unique, msg.errname);
  };
  replyChannel.subscribe(onReply);
  try {
    const handlers: Handlers = {
      [Opcode.LOOKUP]: async () => {
        throw new FsError(Errno.ENOENT);
      },
      [Opcode.GETATTR]: async () => ({ attr, valid: 1 }),
    };
    const a = lookupReq();
    const g = getattrReq();
    const s = statfsReq();
    await dispatch(handlers, a, signal(), log);
    await dispatch(handlers, g, signal(), log);
    await dispatch(handlers, s, signal(), log);
    t.is(seen.get(a.h.unique), 'ENOENT');
    t.is(seen.get(g.h.unique), 'OK');
    t.is(seen.get(s.h.unique), 'ENOSYS');
  } finally {
    replyChannel.unsubscribe(onReply);
  }
});
