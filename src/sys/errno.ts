// Errno values and the one error type that carries them.
//
// Every layer below dispatch throws FsError (or lets a Node fs error through);
// toErrno() is the single place that turns anything thrown into a number the
// kernel can be given. Anything it does not recognise becomes EIO, and the
// caller is expected to log it (dispatch does).
import { constants } from 'node:os';

const E = constants.errno;

export const Errno = {
  EPERM: E.EPERM,
  ENOENT: E.ENOENT,
  EINTR: E.EINTR,
  EIO: E.EIO,
  EBADF: E.EBADF,
  EAGAIN: E.EAGAIN,
  ENOMEM: E.ENOMEM,
  EACCES: E.EACCES,
  EBUSY: E.EBUSY,
  EEXIST: E.EEXIST,
  EXDEV: E.EXDEV,
  ENODEV: E.ENODEV,
  ENOTDIR: E.ENOTDIR,
  EISDIR: E.EISDIR,
  EINVAL: E.EINVAL,
  ENFILE: E.ENFILE,
  EMFILE: E.EMFILE,
  ENOTTY: E.ENOTTY,
  EFBIG: E.EFBIG,
  ENOSPC: E.ENOSPC,
  ESPIPE: E.ESPIPE,
  EROFS: E.EROFS,
  EMLINK: E.EMLINK,
  ERANGE: E.ERANGE,
  EDEADLK: E.EDEADLK,
  ENAMETOOLONG: E.ENAMETOOLONG,
  ENOSYS: E.ENOSYS,
  ENOTEMPTY: E.ENOTEMPTY,
  ELOOP: E.ELOOP,
  ENODATA: E.ENODATA,
  EOVERFLOW: E.EOVERFLOW,
  EOPNOTSUPP: E.EOPNOTSUPP,
  ENOTSUP: E.ENOTSUP,
  ENOTCONN: E.ENOTCONN,
  EDQUOT: E.EDQUOT,
  ECANCELED: E.ECANCELED,
  E2BIG: E.E2BIG,
  ENXIO: E.ENXIO,
  ETXTBSY: E.ETXTBSY,
  EPROTO: E.EPROTO,
  ENOLCK: E.ENOLCK,
  ESTALE: E.ESTALE,
} as const;

export type ErrnoName = keyof typeof Errno;

const nameByNumber = new Map<number, string>();
for (const [name, num] of Object.entries(E)) if (!nameByNumber.has(num)) nameByNumber.set(num, name);

export function errnoName(errno: number): string {
  return nameByNumber.get(errno) ?? `E${errno}`;
}

/** An error that carries a positive errno, shaped like Node's fs errors. */
export class FsError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string | undefined;
  readonly path: string | undefined;

  constructor(errno: number, syscall?: string, path?: Buffer | string) {
    const code = errnoName(errno);
    const shown = path === undefined ? '' : ` '${typeof path === 'string' ? path : path.toString('latin1')}'`;
    // An errno is an answer, not a bug: ENOENT from LOOKUP is the hottest
    // error path there is, and capturing a stack for it costs more than the
    // syscall did. Bugs are other Error types, which keep their stacks.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${code}${syscall ? `, ${syscall}` : ''}${shown}`);
    Error.stackTraceLimit = limit;
    this.name = 'FsError';
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.path = path === undefined ? undefined : typeof path === 'string' ? path : path.toString('latin1');
  }
}

/**
 * An errno reply returned as a value instead of thrown. For answers that are
 * routine on a hot path (ENOENT from LOOKUP: every create and every test for
 * a missing file starts with one), where a throw through V8 (unwinding,
 * locating the throw site, deoptimizing the functions it passes) costs more
 * than the lookup's syscalls. dispatch() turns it into the reply.
 */
export class ErrnoAnswer {
  constructor(readonly errno: number) {}
}

/** Throws an FsError unless a native result is non-negative; returns it otherwise. */
export function check(result: number, syscall: string, path?: Buffer | string): number {
  if (result < 0) throw new FsError(-result, syscall, path);
  return result;
}

interface NodeErrnoLike {
  code: string;
}

function isNodeErrno(e: unknown): e is NodeErrnoLike {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string';
}

/**
 * The positive errno for anything thrown, or undefined when it is not a
 * filesystem error at all (a bug): the caller logs those and answers EIO.
 */
export function knownErrno(e: unknown): number | undefined {
  if (e instanceof FsError) return e.errno;
  if (isNodeErrno(e)) {
    const n = (E as Record<string, number | undefined>)[e.code];
    if (n !== undefined) return n;
  }
  return undefined;
}

/** The one mapper from a thrown value to an errno; unknown errors become EIO. */
export function toErrno(e: unknown): number {
  return knownErrno(e) ?? Errno.EIO;
}

export function fsError(errno: number, syscall?: string, path?: Buffer | string): FsError {
  return new FsError(errno, syscall, path);
}
