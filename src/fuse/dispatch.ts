// opcode → handler. The ONLY place where errors (thrown, or returned as
// ErrnoAnswer values) become errno replies.
//
// Handlers return typed values; an encoder per opcode turns them into reply
// bytes. An opcode without a handler gets ENOSYS. A thrown FsError (or Node
// fs error) becomes its errno. Anything else is a bug: it is logged and the
// caller gets EIO, and the daemon carries on.
import diagnostics_channel from 'node:diagnostics_channel';
import { Opcode } from './abi.js';
import type { HandledOpcode, Req } from './protocol.js';
import * as R from './replies.js';
import { Errno, ErrnoAnswer, errnoName, knownErrno } from '../sys/errno.js';
import type { Logger } from '../sys/log.js';
import { isPromise, type MaybePromise } from '../../policies/maybe.js';

export interface CreateReply {
  entry: R.EntryReply;
  open: R.OpenReply;
}

/** Reply value each handler resolves to. */
export interface ReplyTypes {
  [Opcode.LOOKUP]: R.EntryReply;
  [Opcode.FORGET]: void;
  [Opcode.GETATTR]: { attr: R.FuseAttr; valid: number };
  [Opcode.SETATTR]: { attr: R.FuseAttr; valid: number };
  [Opcode.READLINK]: Buffer;
  [Opcode.SYMLINK]: R.EntryReply;
  [Opcode.MKNOD]: R.EntryReply;
  [Opcode.MKDIR]: R.EntryReply;
  [Opcode.UNLINK]: void;
  [Opcode.RMDIR]: void;
  [Opcode.RENAME]: void;
  [Opcode.RENAME2]: void;
  [Opcode.LINK]: R.EntryReply;
  [Opcode.OPEN]: R.OpenReply;
  [Opcode.READ]: Buffer;
  [Opcode.WRITE]: number;
  [Opcode.STATFS]: R.StatfsReply;
  [Opcode.RELEASE]: void;
  [Opcode.FSYNC]: void;
  [Opcode.SETXATTR]: void;
  [Opcode.GETXATTR]: Buffer | number;
  [Opcode.LISTXATTR]: Buffer | number;
  [Opcode.REMOVEXATTR]: void;
  [Opcode.FLUSH]: void;
  [Opcode.OPENDIR]: R.OpenReply;
  [Opcode.READDIR]: Buffer;
  [Opcode.READDIRPLUS]: Buffer;
  [Opcode.RELEASEDIR]: void;
  [Opcode.FSYNCDIR]: void;
  [Opcode.GETLK]: { start: number; end: number; type: number; pid: number };
  [Opcode.SETLK]: void;
  [Opcode.SETLKW]: void;
  [Opcode.ACCESS]: void;
  [Opcode.CREATE]: CreateReply;
  [Opcode.TMPFILE]: CreateReply;
  [Opcode.IOCTL]: void;
  [Opcode.POLL]: void;
  [Opcode.FALLOCATE]: void;
  [Opcode.LSEEK]: number;
  [Opcode.COPY_FILE_RANGE]: number;
  [Opcode.COPY_FILE_RANGE_64]: number;
  [Opcode.STATX]: Buffer;
  [Opcode.BMAP]: void;
  [Opcode.SYNCFS]: void;
}

/**
 * A handler answers at once (the pool's fast path, see policies/maybe.ts) or
 * through a promise; with its reply value, or an errno as an ErrnoAnswer
 * value instead of a throw where that is routine.
 */
export type Handler<O extends HandledOpcode> = (req: Req<O>, signal: AbortSignal) => MaybePromise<ReplyTypes[O] | ErrnoAnswer>;
export type Handlers = { [O in HandledOpcode]?: Handler<O> };

type Encoder<O extends HandledOpcode> = (r: ReplyTypes[O]) => Buffer | undefined;
const none = (): undefined => undefined;
const raw = (b: Buffer): Buffer => b;
const entry = (e: R.EntryReply): Buffer => R.entryOut(e);
const attr = (a: { attr: R.FuseAttr; valid: number }): Buffer => R.attrOut(a.attr, a.valid);
const xattr = (r: Buffer | number): Buffer => (typeof r === 'number' ? R.getxattrSizeOut(r) : r);
const create = (c: CreateReply): Buffer => R.createOut(c.entry, c.open);

const encoders: { [O in HandledOpcode]: Encoder<O> } = {
  [Opcode.LOOKUP]: entry,
  [Opcode.FORGET]: none,
  [Opcode.GETATTR]: attr,
  [Opcode.SETATTR]: attr,
  [Opcode.READLINK]: raw,
  [Opcode.SYMLINK]: entry,
  [Opcode.MKNOD]: entry,
  [Opcode.MKDIR]: entry,
  [Opcode.UNLINK]: none,
  [Opcode.RMDIR]: none,
  [Opcode.RENAME]: none,
  [Opcode.RENAME2]: none,
  [Opcode.LINK]: entry,
  [Opcode.OPEN]: R.openOut,
  [Opcode.READ]: raw,
  [Opcode.WRITE]: R.writeOut,
  [Opcode.STATFS]: R.statfsOut,
  [Opcode.RELEASE]: none,
  [Opcode.FSYNC]: none,
  [Opcode.SETXATTR]: none,
  [Opcode.GETXATTR]: xattr,
  [Opcode.LISTXATTR]: xattr,
  [Opcode.REMOVEXATTR]: none,
  [Opcode.FLUSH]: none,
  [Opcode.OPENDIR]: R.openOut,
  [Opcode.READDIR]: raw,
  [Opcode.READDIRPLUS]: raw,
  [Opcode.RELEASEDIR]: none,
  [Opcode.FSYNCDIR]: none,
  [Opcode.GETLK]: R.lkOut,
  [Opcode.SETLK]: none,
  [Opcode.SETLKW]: none,
  [Opcode.ACCESS]: none,
  [Opcode.CREATE]: create,
  [Opcode.TMPFILE]: create,
  [Opcode.IOCTL]: none,
  [Opcode.POLL]: none,
  [Opcode.FALLOCATE]: none,
  [Opcode.LSEEK]: R.u64Out,
  [Opcode.COPY_FILE_RANGE]: R.writeOut,
  [Opcode.COPY_FILE_RANGE_64]: R.u64Out,
  [Opcode.STATX]: raw,
  [Opcode.BMAP]: none,
  [Opcode.SYNCFS]: none,
};

export const requestChannel = diagnostics_channel.channel('braidfs:request');
export const replyChannel = diagnostics_channel.channel('braidfs:reply');

export interface Outcome {
  /** 0 or a positive errno. */
  errno: number;
  body: Buffer | undefined;
}

/**
 * Runs one request to completion. Never throws: a thrown or rejected errno
 * becomes its reply, anything else EIO and a log line. The outcome is a
 * value when the handler answered at once, so the caller can reply without
 * a promise in between.
 */
export function dispatch<O extends HandledOpcode>(handlers: Handlers, req: Req<O>, signal: AbortSignal, log: Logger): MaybePromise<Outcome> {
  if (requestChannel.hasSubscribers) requestChannel.publish(req);
  const handler = handlers[req.op];
  if (!handler) return published(req, { errno: Errno.ENOSYS, body: undefined });
  let value: MaybePromise<ReplyTypes[O] | ErrnoAnswer>;
  try {
    value = handler(req, signal);
  } catch (e) {
    return published(req, failure(req, e, log));
  }
  if (isPromise(value)) {
    return value.then(
      (v) => published(req, success(req, v, log)),
      (e: unknown) => published(req, failure(req, e, log)),
    );
  }
  return published(req, success(req, value, log));
}

function success<O extends HandledOpcode>(req: Req<O>, value: ReplyTypes[O] | ErrnoAnswer, log: Logger): Outcome {
  if (value instanceof ErrnoAnswer) return { errno: value.errno, body: undefined };
  try {
    return { errno: 0, body: (encoders[req.op] as Encoder<O>)(value) };
  } catch (e) {
    return failure(req, e, log);
  }
}

function failure(req: Req<HandledOpcode>, e: unknown, log: Logger): Outcome {
  const errno = knownErrno(e);
  if (errno !== undefined) return { errno, body: undefined };
  log.error(`unexpected error in ${Opcode[req.op]} (unique ${req.h.unique}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return { errno: Errno.EIO, body: undefined };
}

function published(req: Req<HandledOpcode>, outcome: Outcome): Outcome {
  if (replyChannel.hasSubscribers) replyChannel.publish({ req, outcome, errname: outcome.errno ? errnoName(outcome.errno) : 'OK' });
  return outcome;
}
