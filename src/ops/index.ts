// Opcode → handler table for the single-branch (loopback) tree. The compiler
// checks every entry against the opcode's request and reply types.
import { Opcode } from '../fuse/abi.js';
import type { Handlers } from '../fuse/dispatch.js';
import { getattr, setattr, statx } from './attr.js';
import type { OpContext } from './context.js';
import { create, link, mkdir, mknod, symlink, tmpfile } from './create.js';
import { opendir, readdir, readdirplus, releasedir, fsyncdir } from './dir.js';
import { copyFileRange, fallocate, flush, fsync, lseek, open, read, release, write } from './io.js';
import { getlk, setlk } from './lock.js';
import { lookup, readlink } from './lookup.js';
import { access, ioctl, statfs } from './misc.js';
import { rmdir, unlink } from './remove.js';
import { rename } from './rename.js';
import { getxattr, listxattr, removexattr, setxattr } from './xattr.js';
import { CONTROL_NAME, controlGetattr, controlStatx, controlGetxattr, controlListxattr, controlSetxattr, isControl, lookupControl, pathInfo } from './control.js';
import { Errno, FsError } from '../sys/errno.js';

export { forget } from './lookup.js';

/** True when a request is about the runtime control file. */
const onControl = (ctx: OpContext, nodeid: bigint): boolean => ctx.inodes.has(nodeid) && isControl(ctx.inodes.get(nodeid));
const xattrsOff = (ctx: OpContext): void => {
  if (ctx.xattrs.mode === 'nosys') throw new FsError(Errno.ENOSYS, 'xattr');
};
const controlRefuses = (): never => {
  throw new FsError(Errno.EPERM, 'control file');
};

export interface HandlerOptions {
  /** Serve FUSE_STATX; without it the kernel gets ENOSYS once and uses GETATTR and its cache from then on. */
  statx: boolean;
  /**
   * Locks live in the daemon's lock table (locks=daemon). Otherwise the kernel
   * keeps them and FLUSH, whose only job here is dropping a closing owner's
   * locks, gets ENOSYS once, after which the kernel stops sending it.
   */
  daemonLocks: boolean;
}

export function makeHandlers(ctx: OpContext, opts: HandlerOptions): Handlers {
  const handlers: Handlers = {
    [Opcode.LOOKUP]: (r) => (r.h.nodeid === 1n && r.name.equals(CONTROL_NAME) ? Promise.resolve(lookupControl(ctx)) : lookup(ctx, r)),
    [Opcode.GETATTR]: (r) => (onControl(ctx, r.h.nodeid) ? Promise.resolve(controlGetattr(ctx)) : getattr(ctx, r)),
    [Opcode.SETATTR]: (r) => (onControl(ctx, r.h.nodeid) ? Promise.resolve(controlRefuses()) : setattr(ctx, r)),
    // statx (coreutils and node ask for the birth time) must find the control file too.
    [Opcode.STATX]: (r) => (onControl(ctx, r.h.nodeid) ? Promise.resolve(controlStatx(ctx)) : statx(ctx, r)),
    [Opcode.READLINK]: (r) => readlink(ctx, r),
    [Opcode.SYMLINK]: (r) => symlink(ctx, r),
    [Opcode.MKNOD]: (r) => mknod(ctx, r),
    [Opcode.MKDIR]: (r) => mkdir(ctx, r),
    [Opcode.UNLINK]: (r) => unlink(ctx, r),
    [Opcode.RMDIR]: (r) => rmdir(ctx, r),
    [Opcode.RENAME]: (r) => rename(ctx, r),
    [Opcode.RENAME2]: (r) => rename(ctx, r),
    [Opcode.LINK]: (r) => link(ctx, r),
    [Opcode.OPEN]: (r) => (onControl(ctx, r.h.nodeid) ? Promise.resolve(controlRefuses()) : open(ctx, r)),
    [Opcode.READ]: (r) => read(ctx, r),
    [Opcode.WRITE]: (r) => write(ctx, r),
    [Opcode.STATFS]: (r) => statfs(ctx, r),
    [Opcode.RELEASE]: (r) => release(ctx, r),
    [Opcode.FSYNC]: (r) => fsync(ctx, r),
    // xattr=nosys turns xattrs off for the control file too: the kernel stops asking after one ENOSYS anyway.
    [Opcode.SETXATTR]: async (r) => (xattrsOff(ctx), onControl(ctx, r.h.nodeid) ? controlSetxattr(ctx.control, r.h, r.name, r.value) : setxattr(ctx, r)),
    [Opcode.GETXATTR]: async (r) => {
      xattrsOff(ctx);
      if (onControl(ctx, r.h.nodeid)) return controlGetxattr(ctx.control, r.name, r.size);
      return (await pathInfo(ctx, ctx.inodes.get(r.h.nodeid), r.name, r.size)) ?? getxattr(ctx, r);
    },
    [Opcode.LISTXATTR]: async (r) => (xattrsOff(ctx), onControl(ctx, r.h.nodeid) ? controlListxattr(ctx.control, r.size) : listxattr(ctx, r)),
    [Opcode.REMOVEXATTR]: async (r) => (xattrsOff(ctx), onControl(ctx, r.h.nodeid) ? controlRefuses() : removexattr(ctx, r)),
    [Opcode.FLUSH]: (r) => flush(ctx, r),
    [Opcode.OPENDIR]: (r) => opendir(ctx, r),
    [Opcode.READDIR]: (r) => readdir(ctx, r),
    [Opcode.READDIRPLUS]: (r) => readdirplus(ctx, r),
    [Opcode.RELEASEDIR]: (r) => releasedir(ctx, r),
    [Opcode.FSYNCDIR]: (r) => fsyncdir(ctx, r),
    [Opcode.GETLK]: (r) => getlk(ctx, r),
    [Opcode.SETLK]: (r, signal) => setlk(ctx, r, false, signal),
    [Opcode.SETLKW]: (r, signal) => setlk(ctx, r, true, signal),
    [Opcode.ACCESS]: (r) => access(ctx, r),
    [Opcode.CREATE]: (r) => create(ctx, r),
    [Opcode.TMPFILE]: (r) => tmpfile(ctx, r),
    [Opcode.IOCTL]: (r) => ioctl(ctx, r),
    [Opcode.FALLOCATE]: (r) => fallocate(ctx, r),
    [Opcode.LSEEK]: (r) => lseek(ctx, r),
    [Opcode.COPY_FILE_RANGE]: (r) => copyFileRange(ctx, r),
    [Opcode.COPY_FILE_RANGE_64]: (r) => copyFileRange(ctx, r),
  };
  if (!opts.statx) delete handlers[Opcode.STATX];
  if (!opts.daemonLocks) delete handlers[Opcode.FLUSH];
  return handlers;
}
