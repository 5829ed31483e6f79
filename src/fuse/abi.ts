// The FUSE kernel ABI, protocol 7.45 (Linux 6.18 include/uapi/linux/fuse.h).
// Names keep the kernel's spelling so checking against the header is
// mechanical; fields are camelCased.
import { struct } from './codec.js';

export const FUSE_KERNEL_VERSION = 7;
export const FUSE_KERNEL_MINOR_VERSION = 45;
export const FUSE_ROOT_ID = 1n;
export const FUSE_MIN_READ_BUFFER = 8192;

export enum Opcode {
  LOOKUP = 1,
  FORGET = 2,
  GETATTR = 3,
  SETATTR = 4,
  READLINK = 5,
  SYMLINK = 6,
  MKNOD = 8,
  MKDIR = 9,
  UNLINK = 10,
  RMDIR = 11,
  RENAME = 12,
  LINK = 13,
  OPEN = 14,
  READ = 15,
  WRITE = 16,
  STATFS = 17,
  RELEASE = 18,
  FSYNC = 20,
  SETXATTR = 21,
  GETXATTR = 22,
  LISTXATTR = 23,
  REMOVEXATTR = 24,
  FLUSH = 25,
  INIT = 26,
  OPENDIR = 27,
  READDIR = 28,
  RELEASEDIR = 29,
  FSYNCDIR = 30,
  GETLK = 31,
  SETLK = 32,
  SETLKW = 33,
  ACCESS = 34,
  CREATE = 35,
  INTERRUPT = 36,
  BMAP = 37,
  DESTROY = 38,
  IOCTL = 39,
  POLL = 40,
  NOTIFY_REPLY = 41,
  BATCH_FORGET = 42,
  FALLOCATE = 43,
  READDIRPLUS = 44,
  RENAME2 = 45,
  LSEEK = 46,
  COPY_FILE_RANGE = 47,
  SETUPMAPPING = 48,
  REMOVEMAPPING = 49,
  SYNCFS = 50,
  TMPFILE = 51,
  STATX = 52,
  COPY_FILE_RANGE_64 = 53,
}

export enum NotifyCode {
  POLL = 1,
  INVAL_INODE = 2,
  INVAL_ENTRY = 3,
  STORE = 4,
  RETRIEVE = 5,
  DELETE = 6,
  RESEND = 7,
  INC_EPOCH = 8,
  PRUNE = 9,
}

/** INIT flags, as bit numbers in the 64-bit flags|flags2<<32 word. */
export const InitFlag = {
  ASYNC_READ: 0,
  POSIX_LOCKS: 1,
  ATOMIC_O_TRUNC: 3,
  EXPORT_SUPPORT: 4,
  BIG_WRITES: 5,
  DONT_MASK: 6,
  FLOCK_LOCKS: 10,
  AUTO_INVAL_DATA: 12,
  DO_READDIRPLUS: 13,
  READDIRPLUS_AUTO: 14,
  ASYNC_DIO: 15,
  WRITEBACK_CACHE: 16,
  PARALLEL_DIROPS: 18,
  HANDLE_KILLPRIV: 19,
  POSIX_ACL: 20,
  ABORT_ERROR: 21,
  MAX_PAGES: 22,
  CACHE_SYMLINKS: 23,
  EXPLICIT_INVAL_DATA: 25,
  HANDLE_KILLPRIV_V2: 28,
  SETXATTR_EXT: 29,
  INIT_EXT: 30,
  SECURITY_CTX: 32,
  CREATE_SUPP_GROUP: 34,
  HAS_EXPIRE_ONLY: 35,
  DIRECT_IO_ALLOW_MMAP: 36,
  PASSTHROUGH: 37,
  NO_EXPORT_SUPPORT: 38,
  HAS_RESEND: 39,
  ALLOW_IDMAP: 40,
  OVER_IO_URING: 41,
  REQUEST_TIMEOUT: 42,
} as const;
export type InitFlagName = keyof typeof InitFlag;

export const FATTR_MODE = 1 << 0;
export const FATTR_UID = 1 << 1;
export const FATTR_GID = 1 << 2;
export const FATTR_SIZE = 1 << 3;
export const FATTR_ATIME = 1 << 4;
export const FATTR_MTIME = 1 << 5;
export const FATTR_FH = 1 << 6;
export const FATTR_ATIME_NOW = 1 << 7;
export const FATTR_MTIME_NOW = 1 << 8;
export const FATTR_LOCKOWNER = 1 << 9;
export const FATTR_CTIME = 1 << 10;
export const FATTR_KILL_SUIDGID = 1 << 11;

export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_NONSEEKABLE = 1 << 2;
export const FOPEN_CACHE_DIR = 1 << 3;
export const FOPEN_STREAM = 1 << 4;
export const FOPEN_NOFLUSH = 1 << 5;
export const FOPEN_PARALLEL_DIRECT_WRITES = 1 << 6;
export const FOPEN_PASSTHROUGH = 1 << 7;

export const FUSE_GETATTR_FH = 1;
export const FUSE_LK_FLOCK = 1;
export const FUSE_RELEASE_FLUSH = 1;
export const FUSE_RELEASE_FLOCK_UNLOCK = 2;
export const FUSE_FSYNC_FDATASYNC = 1;
export const FUSE_WRITE_KILL_SUIDGID = 4;
/** fuse_open_in/fuse_create_in open_flags: O_TRUNC by a caller without CAP_FSETID (HANDLE_KILLPRIV_V2). */
export const FUSE_OPEN_KILL_SUIDGID = 1 << 0;

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;

// ---------------------------------------------------------------------------
// struct layouts (sizes asserted at load)

export const InHeader = struct(
  'fuse_in_header',
  { len: 'u32', opcode: 'u32', unique: 'u64', nodeid: 'u64', uid: 'u32', gid: 'u32', pid: 'u32', totalExtlen: 'u16', padding: 'u16' },
  40,
);
export const OutHeader = struct('fuse_out_header', { len: 'u32', error: 'i32', unique: 'u64' }, 16);

export const Attr = struct(
  'fuse_attr',
  {
    ino: 'u64',
    size: 'n64',
    blocks: 'n64',
    atime: 'n64',
    mtime: 'n64',
    ctime: 'n64',
    atimensec: 'u32',
    mtimensec: 'u32',
    ctimensec: 'u32',
    mode: 'u32',
    nlink: 'u32',
    uid: 'u32',
    gid: 'u32',
    rdev: 'u32',
    blksize: 'u32',
    flags: 'u32',
  },
  88,
);
export const EntryOut = struct(
  'fuse_entry_out',
  { nodeid: 'u64', generation: 'u64', entryValid: 'n64', attrValid: 'n64', entryValidNsec: 'u32', attrValidNsec: 'u32', attr: 'pad88' },
  128,
);
export const AttrOut = struct('fuse_attr_out', { attrValid: 'n64', attrValidNsec: 'u32', dummy: 'u32', attr: 'pad88' }, 104);

export const InitIn = struct(
  'fuse_init_in',
  { major: 'u32', minor: 'u32', maxReadahead: 'u32', flags: 'u32', flags2: 'u32', unused: 'pad44' },
  64,
);
export const InitOut = struct(
  'fuse_init_out',
  {
    major: 'u32',
    minor: 'u32',
    maxReadahead: 'u32',
    flags: 'u32',
    maxBackground: 'u16',
    congestionThreshold: 'u16',
    maxWrite: 'u32',
    timeGran: 'u32',
    maxPages: 'u16',
    mapAlignment: 'u16',
    flags2: 'u32',
    maxStackDepth: 'u32',
    requestTimeout: 'u16',
    unused: 'pad22',
  },
  64,
);

export const ForgetIn = struct('fuse_forget_in', { nlookup: 'u64' }, 8);
export const BatchForgetIn = struct('fuse_batch_forget_in', { count: 'u32', dummy: 'u32' }, 8);
export const ForgetOne = struct('fuse_forget_one', { nodeid: 'u64', nlookup: 'u64' }, 16);
export const GetattrIn = struct('fuse_getattr_in', { getattrFlags: 'u32', dummy: 'u32', fh: 'u64' }, 16);
export const SetattrIn = struct(
  'fuse_setattr_in',
  {
    valid: 'u32',
    padding: 'u32',
    fh: 'u64',
    size: 'n64',
    lockOwner: 'u64',
    atime: 'i64',
    mtime: 'i64',
    ctime: 'i64',
    atimensec: 'u32',
    mtimensec: 'u32',
    ctimensec: 'u32',
    mode: 'u32',
    unused4: 'u32',
    uid: 'u32',
    gid: 'u32',
    unused5: 'u32',
  },
  88,
);
export const MknodIn = struct('fuse_mknod_in', { mode: 'u32', rdev: 'u32', umask: 'u32', padding: 'u32' }, 16);
export const MkdirIn = struct('fuse_mkdir_in', { mode: 'u32', umask: 'u32' }, 8);
export const RenameIn = struct('fuse_rename_in', { newdir: 'u64' }, 8);
export const Rename2In = struct('fuse_rename2_in', { newdir: 'u64', flags: 'u32', padding: 'u32' }, 16);
export const LinkIn = struct('fuse_link_in', { oldnodeid: 'u64' }, 8);
export const OpenIn = struct('fuse_open_in', { flags: 'u32', openFlags: 'u32' }, 8);
export const CreateIn = struct('fuse_create_in', { flags: 'u32', mode: 'u32', umask: 'u32', openFlags: 'u32' }, 16);
export const OpenOut = struct('fuse_open_out', { fh: 'u64', openFlags: 'u32', backingId: 'i32' }, 16);
export const ReleaseIn = struct('fuse_release_in', { fh: 'u64', flags: 'u32', releaseFlags: 'u32', lockOwner: 'u64' }, 24);
export const FlushIn = struct('fuse_flush_in', { fh: 'u64', unused: 'u32', padding: 'u32', lockOwner: 'u64' }, 24);
export const ReadIn = struct(
  'fuse_read_in',
  { fh: 'u64', offset: 'n64', size: 'u32', readFlags: 'u32', lockOwner: 'u64', flags: 'u32', padding: 'u32' },
  40,
);
export const WriteIn = struct(
  'fuse_write_in',
  { fh: 'u64', offset: 'n64', size: 'u32', writeFlags: 'u32', lockOwner: 'u64', flags: 'u32', padding: 'u32' },
  40,
);
export const WriteOut = struct('fuse_write_out', { size: 'u32', padding: 'u32' }, 8);
export const StatfsOut = struct(
  'fuse_statfs_out',
  { blocks: 'n64', bfree: 'n64', bavail: 'n64', files: 'n64', ffree: 'n64', bsize: 'u32', namelen: 'u32', frsize: 'u32', padding: 'u32', spare: 'pad24' },
  80,
);
export const FsyncIn = struct('fuse_fsync_in', { fh: 'u64', fsyncFlags: 'u32', padding: 'u32' }, 16);
export const SetxattrIn = struct('fuse_setxattr_in', { size: 'u32', flags: 'u32', setxattrFlags: 'u32', padding: 'u32' }, 16);
export const SetxattrInCompat = struct('fuse_setxattr_in_compat', { size: 'u32', flags: 'u32' }, 8);
export const GetxattrIn = struct('fuse_getxattr_in', { size: 'u32', padding: 'u32' }, 8);
export const GetxattrOut = struct('fuse_getxattr_out', { size: 'u32', padding: 'u32' }, 8);
export const FileLock = struct('fuse_file_lock', { start: 'n64', end: 'n64', type: 'u32', pid: 'u32' }, 24);
export const LkIn = struct('fuse_lk_in', { fh: 'u64', owner: 'u64', lk: 'pad24', lkFlags: 'u32', padding: 'u32' }, 48);
export const AccessIn = struct('fuse_access_in', { mask: 'u32', padding: 'u32' }, 8);
export const InterruptIn = struct('fuse_interrupt_in', { unique: 'u64' }, 8);
export const IoctlIn = struct('fuse_ioctl_in', { fh: 'u64', flags: 'u32', cmd: 'u32', arg: 'u64', inSize: 'u32', outSize: 'u32' }, 32);
export const PollIn = struct('fuse_poll_in', { fh: 'u64', kh: 'u64', flags: 'u32', events: 'u32' }, 24);
export const FallocateIn = struct('fuse_fallocate_in', { fh: 'u64', offset: 'n64', length: 'n64', mode: 'u32', padding: 'u32' }, 32);
export const LseekIn = struct('fuse_lseek_in', { fh: 'u64', offset: 'i64', whence: 'u32', padding: 'u32' }, 24);
export const LseekOut = struct('fuse_lseek_out', { offset: 'n64' }, 8);
export const CopyFileRangeIn = struct(
  'fuse_copy_file_range_in',
  { fhIn: 'u64', offIn: 'n64', nodeidOut: 'u64', fhOut: 'u64', offOut: 'n64', len: 'n64', flags: 'u64' },
  56,
);
export const CopyFileRangeOut = struct('fuse_copy_file_range_out', { bytesCopied: 'n64' }, 8);
export const StatxIn = struct('fuse_statx_in', { getattrFlags: 'u32', reserved: 'u32', fh: 'u64', sxFlags: 'u32', sxMask: 'u32' }, 24);
export const Statx = struct(
  'fuse_statx',
  {
    mask: 'u32',
    blksize: 'u32',
    attributes: 'u64',
    nlink: 'u32',
    uid: 'u32',
    gid: 'u32',
    mode: 'u16',
    spare0: 'u16',
    ino: 'u64',
    size: 'n64',
    blocks: 'n64',
    attributesMask: 'u64',
    atime: 'pad16',
    btime: 'pad16',
    ctime: 'pad16',
    mtime: 'pad16',
    rdevMajor: 'u32',
    rdevMinor: 'u32',
    devMajor: 'u32',
    devMinor: 'u32',
    spare2: 'pad112',
  },
  256,
);
export const StatxOut = struct('fuse_statx_out', { attrValid: 'n64', attrValidNsec: 'u32', flags: 'u32', spare: 'pad16', stat: 'pad256' }, 288);
export const Dirent = struct('fuse_dirent', { ino: 'u64', off: 'n64', namelen: 'u32', type: 'u32' }, 24);
export const NotifyInvalInodeOut = struct('fuse_notify_inval_inode_out', { ino: 'u64', off: 'i64', len: 'i64' }, 24);
export const NotifyInvalEntryOut = struct('fuse_notify_inval_entry_out', { parent: 'u64', namelen: 'u32', flags: 'u32' }, 16);
export const NotifyDeleteOut = struct('fuse_notify_delete_out', { parent: 'u64', child: 'u64', namelen: 'u32', padding: 'u32' }, 24);

export const ENTRY_OUT_ATTR_OFFSET = EntryOut.offsets.attr;
export const ATTR_OUT_ATTR_OFFSET = AttrOut.offsets.attr;
