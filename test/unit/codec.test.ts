// Golden-byte tests for the FUSE codec. Every expected byte string below was
// written by hand from /work/shared/reference/fuse-protocol.md (§1–4, offsets
// probed with offsetof on the 7.45 header), never produced by the code under
// test. All integers are little-endian.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as abi from '../../src/fuse/abi.js';
import { Opcode } from '../../src/fuse/abi.js';
import { decode, encode, struct } from '../../src/fuse/codec.js';
import { decodeBody, decodeHeader, ProtocolError, type RequestBodies, type HandledOpcode } from '../../src/fuse/protocol.js';
import * as R from '../../src/fuse/replies.js';

/** Hex to bytes; spaces, newlines and `|` are only for the reader. */
const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const zeros = (n: number): string => '00'.repeat(n);
/** 40 bytes standing in for a fuse_in_header before a body (decodeBody does not read it). */
const HDR = zeros(40);

/** Decodes a body that follows a 40-byte header, with `end` at the end of the buffer unless given. */
function body<O extends HandledOpcode>(op: O, bodyHex: string, opts: { ext?: boolean; end?: number } = {}): RequestBodies[O] {
  const buf = hex(HDR + bodyHex);
  const end = opts.end === undefined ? buf.length : 40 + opts.end;
  const b = decodeBody(op, buf, 40, end, opts.ext ?? false);
  if (b === undefined) throw new Error(`decodeBody returned undefined for ${op}`);
  return b as RequestBodies[O];
}

function rejectsMalformed(t: ExecutionContext, fn: () => unknown, what: string): void {
  const e = t.throws(fn, undefined, what);
  t.true(e instanceof RangeError || e instanceof ProtocolError, `${what}: threw ${String(e)}`);
}

function bytesEqual(t: ExecutionContext, actual: Buffer, expected: Buffer, what = ''): void {
  t.is(actual.toString('hex'), expected.toString('hex'), what);
}

// --- sizes and offsets ----------------------------------------------------------

const sizes: Array<[string, { size: number }, number]> = [
  ['fuse_in_header', abi.InHeader, 40],
  ['fuse_out_header', abi.OutHeader, 16],
  ['fuse_attr', abi.Attr, 88],
  ['fuse_entry_out', abi.EntryOut, 128],
  ['fuse_attr_out', abi.AttrOut, 104],
  ['fuse_init_in', abi.InitIn, 64],
  ['fuse_init_out', abi.InitOut, 64],
  ['fuse_forget_in', abi.ForgetIn, 8],
  ['fuse_batch_forget_in', abi.BatchForgetIn, 8],
  ['fuse_forget_one', abi.ForgetOne, 16],
  ['fuse_getattr_in', abi.GetattrIn, 16],
  ['fuse_setattr_in', abi.SetattrIn, 88],
  ['fuse_mknod_in', abi.MknodIn, 16],
  ['fuse_mkdir_in', abi.MkdirIn, 8],
  ['fuse_rename_in', abi.RenameIn, 8],
  ['fuse_rename2_in', abi.Rename2In, 16],
  ['fuse_link_in', abi.LinkIn, 8],
  ['fuse_open_in', abi.OpenIn, 8],
  ['fuse_create_in', abi.CreateIn, 16],
  ['fuse_open_out', abi.OpenOut, 16],
  ['fuse_release_in', abi.ReleaseIn, 24],
  ['fuse_flush_in', abi.FlushIn, 24],
  ['fuse_read_in', abi.ReadIn, 40],
  ['fuse_write_in', abi.WriteIn, 40],
  ['fuse_write_out', abi.WriteOut, 8],
  ['fuse_statfs_out', abi.StatfsOut, 80],
  ['fuse_fsync_in', abi.FsyncIn, 16],
  ['fuse_setxattr_in', abi.SetxattrIn, 16],
  ['fuse_setxattr_in (compat)', abi.SetxattrInCompat, 8],
  ['fuse_getxattr_in', abi.GetxattrIn, 8],
  ['fuse_getxattr_out', abi.GetxattrOut, 8],
  ['fuse_file_lock', abi.FileLock, 24],
  ['fuse_lk_in', abi.LkIn, 48],
  ['fuse_access_in', abi.AccessIn, 8],
  ['fuse_interrupt_in', abi.InterruptIn, 8],
  ['fuse_ioctl_in', abi.IoctlIn, 32],
  ['fuse_poll_in', abi.PollIn, 24],
  ['fuse_fallocate_in', abi.FallocateIn, 32],
  ['fuse_lseek_in', abi.LseekIn, 24],
  ['fuse_lseek_out', abi.LseekOut, 8],
  ['fuse_copy_file_range_in', abi.CopyFileRangeIn, 56],
  ['fuse_copy_file_range_out', abi.CopyFileRangeOut, 8],
  ['fuse_statx_in', abi.StatxIn, 24],
  ['fuse_statx', abi.Statx, 256],
  ['fuse_statx_out', abi.StatxOut, 288],
  ['fuse_dirent', abi.Dirent, 24],
  ['fuse_notify_inval_inode_out', abi.NotifyInvalInodeOut, 24],
  ['fuse_notify_inval_entry_out', abi.NotifyInvalEntryOut, 16],
  ['fuse_notify_delete_out', abi.NotifyDeleteOut, 24],
];

for (const [name, layout, size] of sizes) {
  test(`abi: ${name} is ${size} bytes`, (t) => {
    t.is(layout.size, size);
  });
}

test('abi: field offsets match the reference', (t) => {
  t.like(abi.InHeader.offsets, { len: 0, opcode: 4, unique: 8, nodeid: 16, uid: 24, gid: 28, pid: 32, totalExtlen: 36, padding: 38 });
  t.like(abi.OutHeader.offsets, { len: 0, error: 4, unique: 8 });
  t.like(abi.Attr.offsets, {
    ino: 0,
    size: 8,
    blocks: 16,
    atime: 24,
    mtime: 32,
    ctime: 40,
    atimensec: 48,
    mtimensec: 52,
    ctimensec: 56,
    mode: 60,
    nlink: 64,
    uid: 68,
    gid: 72,
    rdev: 76,
    blksize: 80,
    flags: 84,
  });
  t.like(abi.EntryOut.offsets, { nodeid: 0, generation: 8, entryValid: 16, attrValid: 24, entryValidNsec: 32, attrValidNsec: 36, attr: 40 });
  t.is(abi.ENTRY_OUT_ATTR_OFFSET, 40);
  t.like(abi.AttrOut.offsets, { attrValid: 0, attrValidNsec: 8, dummy: 12, attr: 16 });
  t.is(abi.ATTR_OUT_ATTR_OFFSET, 16);
  t.like(abi.InitIn.offsets, { major: 0, minor: 4, maxReadahead: 8, flags: 12, flags2: 16, unused: 20 });
  t.like(abi.InitOut.offsets, {
    major: 0,
    minor: 4,
    maxReadahead: 8,
    flags: 12,
    maxBackground: 16,
    congestionThreshold: 18,
    maxWrite: 20,
    timeGran: 24,
    maxPages: 28,
    mapAlignment: 30,
    flags2: 32,
    maxStackDepth: 36,
    requestTimeout: 40,
    unused: 42,
  });
  t.like(abi.SetattrIn.offsets, {
    valid: 0,
    fh: 8,
    size: 16,
    lockOwner: 24,
    atime: 32,
    mtime: 40,
    ctime: 48,
    atimensec: 56,
    mtimensec: 60,
    ctimensec: 64,
    mode: 68,
    unused4: 72,
    uid: 76,
    gid: 80,
    unused5: 84,
  });
  t.like(abi.ReadIn.offsets, { fh: 0, offset: 8, size: 16, readFlags: 20, lockOwner: 24, flags: 32 });
  t.like(abi.WriteIn.offsets, { fh: 0, offset: 8, size: 16, writeFlags: 20, lockOwner: 24, flags: 32 });
  t.like(abi.OpenOut.offsets, { fh: 0, openFlags: 8, backingId: 12 });
  t.like(abi.ReleaseIn.offsets, { fh: 0, flags: 8, releaseFlags: 12, lockOwner: 16 });
  t.like(abi.FlushIn.offsets, { fh: 0, lockOwner: 16 });
  t.like(abi.StatfsOut.offsets, { blocks: 0, bfree: 8, bavail: 16, files: 24, ffree: 32, bsize: 40, namelen: 44, frsize: 48, padding: 52, spare: 56 });
  t.like(abi.FileLock.offsets, { start: 0, end: 8, type: 16, pid: 20 });
  t.like(abi.LkIn.offsets, { fh: 0, owner: 8, lk: 16, lkFlags: 40 });
  t.like(abi.CreateIn.offsets, { flags: 0, mode: 4, umask: 8, openFlags: 12 });
  t.like(abi.IoctlIn.offsets, { fh: 0, flags: 8, cmd: 12, arg: 16, inSize: 24, outSize: 28 });
  t.like(abi.CopyFileRangeIn.offsets, { fhIn: 0, offIn: 8, nodeidOut: 16, fhOut: 24, offOut: 32, len: 40, flags: 48 });
  t.like(abi.StatxIn.offsets, { getattrFlags: 0, reserved: 4, fh: 8, sxFlags: 16, sxMask: 20 });
  t.like(abi.StatxOut.offsets, { attrValid: 0, attrValidNsec: 8, flags: 12, spare: 16, stat: 32 });
  t.like(abi.Statx.offsets, {
    mask: 0,
    blksize: 4,
    attributes: 8,
    nlink: 16,
    uid: 20,
    gid: 24,
    mode: 28,
    ino: 32,
    size: 40,
    blocks: 48,
    attributesMask: 56,
    atime: 64,
    btime: 80,
    ctime: 96,
    mtime: 112,
    rdevMajor: 128,
    rdevMinor: 132,
    devMajor: 136,
    devMinor: 140,
    spare2: 144,
  });
  t.like(abi.Dirent.offsets, { ino: 0, off: 8, namelen: 16, type: 20 });
  t.like(abi.NotifyInvalInodeOut.offsets, { ino: 0, off: 8, len: 16 });
  t.like(abi.NotifyInvalEntryOut.offsets, { parent: 0, namelen: 8, flags: 12 });
  t.like(abi.NotifyDeleteOut.offsets, { parent: 0, child: 8, namelen: 16 });
});

test('codec: struct() refuses a layout whose size differs from the kernel’s', (t) => {
  t.throws(() => struct('bogus', { a: 'u32', b: 'u64' }, 12), { message: /bogus is 16 bytes/ });
  t.is(struct('ok', { a: 'u32', b: 'u64' }, 16).offsets.b, 8);
});

test('abi: opcode and notify numbers match the reference table', (t) => {
  t.like(Opcode, {
    LOOKUP: 1,
    FORGET: 2,
    SYMLINK: 6,
    MKNOD: 8,
    RENAME: 12,
    WRITE: 16,
    SETXATTR: 21,
    INIT: 26,
    GETLK: 31,
    SETLK: 32,
    SETLKW: 33,
    CREATE: 35,
    INTERRUPT: 36,
    BATCH_FORGET: 42,
    READDIRPLUS: 44,
    RENAME2: 45,
    TMPFILE: 51,
    STATX: 52,
    COPY_FILE_RANGE_64: 53,
  });
  t.like(abi.NotifyCode, { POLL: 1, INVAL_INODE: 2, INVAL_ENTRY: 3, STORE: 4, RETRIEVE: 5, DELETE: 6, RESEND: 7, INC_EPOCH: 8, PRUNE: 9 });
});

// --- INIT structs (decoded/encoded by the session with the generic codec) ----------------

test('codec: fuse_init_in as the 6.18 kernel sent it', (t) => {
  const buf = hex(
    '07000000' + // major 7
      '2d000000' + // minor 45
      '00000200' + // max_readahead 131072
      'fbffff73' + // flags 0x73fffffb
      'fd050000' + // flags2 0x000005fd
      zeros(44),
  );
  t.deepEqual(decode(abi.InitIn, buf), { major: 7, minor: 45, maxReadahead: 131072, flags: 0x73fffffb, flags2: 0x5fd });
});

test('codec: fuse_init_out encodes the probed working reply', (t) => {
  const buf = Buffer.alloc(64);
  encode(
    abi.InitOut,
    {
      major: 7,
      minor: 45,
      maxReadahead: 131072,
      flags: 0x40440029,
      maxBackground: 16,
      congestionThreshold: 12,
      maxWrite: 1048576,
      timeGran: 1,
      maxPages: 256,
      flags2: 0x20,
      maxStackDepth: 1,
    },
    buf,
  );
  const expected = hex(
    '07000000' + // 0 major
      '2d000000' + // 4 minor
      '00000200' + // 8 max_readahead
      '29004440' + // 12 flags
      '1000' + // 16 max_background
      '0c00' + // 18 congestion_threshold
      '00001000' + // 20 max_write
      '01000000' + // 24 time_gran
      '0001' + // 28 max_pages
      '0000' + // 30 map_alignment
      '20000000' + // 32 flags2
      '01000000' + // 36 max_stack_depth
      '0000' + // 40 request_timeout
      zeros(22),
  );
  bytesEqual(t, buf, expected);
});

// --- request decoding ------------------------------------------------------------------

test('decodeHeader: a hand-made 40-byte fuse_in_header', (t) => {
  const buf = hex(
    '38000000' + // len 56
      '01000000' + // opcode LOOKUP
      '0400000000000080' + // unique 0x8000000000000004 (bit 63: resent)
      '8877665544332211' + // nodeid 0x1122334455667788
      'e8030000' + // uid 1000
      '64000000' + // gid 100
      '45230100' + // pid 0x12345
      '0200' + // total_extlen 2 (16 bytes)
      '0000', // padding
  );
  const h = decodeHeader(buf);
  t.like(h, { len: 56, opcode: 1, unique: 0x8000000000000004n, nodeid: 0x1122334455667788n, uid: 1000, gid: 100, pid: 0x12345, totalExtlen: 2 });
  t.is(typeof h.unique, 'bigint');
  t.is(typeof h.nodeid, 'bigint');
});

test('decodeHeader: uid/gid 0xffffffff stay unsigned', (t) => {
  const h = decodeHeader(hex('28000000' + '03000000' + '0200000000000000' + '0100000000000000' + 'ffffffff' + 'ffffffff' + '00000000' + '0000' + '0000'));
  t.like(h, { len: 40, opcode: Opcode.GETATTR, unique: 2n, nodeid: 1n, uid: 0xffffffff, gid: 0xffffffff, pid: 0 });
});

test('decodeHeader: a short header throws', (t) => {
  rejectsMalformed(t, () => decodeHeader(Buffer.alloc(39)), '39-byte header');
});

test('LOOKUP: the name is raw bytes up to the NUL', (t) => {
  const b = body(Opcode.LOOKUP, '68ff6c6c6f00'); // "h\xffllo\0"
  bytesEqual(t, b.name, hex('68ff6c6c6f'));
});

test('LOOKUP: the name ends before request extensions (end excludes them)', (t) => {
  // name "ab\0" then 8 bytes of extension that decodeBody must not look at.
  const b = body(Opcode.LOOKUP, '616200' + '0800000020000000', { end: 3 });
  bytesEqual(t, b.name, hex('6162'));
});

test('SYMLINK: name then target', (t) => {
  const b = body(Opcode.SYMLINK, '6c696e6b00' + '2e2e2f74617267657400'); // "link\0" "../target\0"
  bytesEqual(t, b.name, Buffer.from('link'));
  bytesEqual(t, b.target, Buffer.from('../target'));
});

test('MKNOD and MKDIR: struct then name', (t) => {
  const mk = body(
    Opcode.MKNOD,
    'a4210000' + // mode 0o020644 (S_IFCHR|0644)
      '03010000' + // rdev 0x103
      '12000000' + // umask 0o022
      '00000000' +
      '64657600', // "dev\0"
  );
  t.like(mk, { mode: 0o020644, rdev: 0x103, umask: 0o022 });
  bytesEqual(t, mk.name, Buffer.from('dev'));
  const md = body(Opcode.MKDIR, 'ed010000' + '02000000' + '6400'); // mode 0755, umask 002, "d\0"
  t.like(md, { mode: 0o755, umask: 0o002 });
  bytesEqual(t, md.name, Buffer.from('d'));
});

test('RENAME: newdir then two names, flags 0', (t) => {
  const b = body(Opcode.RENAME, '0900000000000000' + '6100' + '6200');
  t.is(b.newdir, 9n);
  t.is(b.flags, 0);
  bytesEqual(t, b.oldname, Buffer.from('a'));
  bytesEqual(t, b.newname, Buffer.from('b'));
});

test('RENAME2: fuse_rename2_in then oldname and newname', (t) => {
  const b = body(
    Opcode.RENAME2,
    '2a00000000000001' + // newdir 0x010000000000002a
      '05000000' + // flags NOREPLACE|WHITEOUT
      '00000000' + // padding
      '6f6c6400' + // "old\0"
      '6e657700', // "new\0"
  );
  t.is(b.newdir, 0x010000000000002an);
  t.is(b.flags, abi.RENAME_NOREPLACE | abi.RENAME_WHITEOUT);
  bytesEqual(t, b.oldname, Buffer.from('old'));
  bytesEqual(t, b.newname, Buffer.from('new'));
});

test('LINK: oldnodeid then newname', (t) => {
  const b = body(Opcode.LINK, '0500000000000000' + '6e00');
  t.is(b.oldnodeid, 5n);
  bytesEqual(t, b.newname, Buffer.from('n'));
});

test('CREATE: fuse_create_in then name', (t) => {
  const b = body(
    Opcode.CREATE,
    '41820000' + // flags 0o101101 (O_LARGEFILE|O_TRUNC|O_CREAT|O_WRONLY) = 0x8241
      'a0810000' + // mode 0o100640
      '12000000' + // umask 0o022
      '01000000' + // open_flags KILL_SUIDGID
      '6600',
  );
  t.like(b, { flags: 0o101101, mode: 0o100640, umask: 0o022, openFlags: 1 });
  bytesEqual(t, b.name, Buffer.from('f'));
});

test('SETATTR: every field at its documented offset', (t) => {
  const b = body(
    Opcode.SETATTR,
    '68000000' + // 0 valid = SIZE|MTIME|FH
      '00000000' + // 4 padding
      '0700000000000000' + // 8 fh 7
      '0000000002000000' + // 16 size 0x200000000
      '0d00000000000000' + // 24 lock_owner 13
      '0000000000000000' + // 32 atime 0
      'ffffffffffffffff' + // 40 mtime -1 (1969-12-31T23:59:59)
      '0001000000000000' + // 48 ctime 256
      '01000000' + // 56 atimensec 1
      '05000000' + // 60 mtimensec 5
      '09000000' + // 64 ctimensec 9
      'a4810000' + // 68 mode 0o100644
      '00000000' + // 72 unused4
      'e8030000' + // 76 uid 1000
      '64000000' + // 80 gid 100
      '00000000', // 84 unused5
  );
  t.is(b.valid, abi.FATTR_SIZE | abi.FATTR_MTIME | abi.FATTR_FH);
  t.is(b.fh, 7n);
  t.is(b.size, 0x200000000);
  t.is(b.lockOwner, 13n);
  t.is(BigInt(b.mtime), -1n);
  t.is(BigInt(b.ctime), 256n);
  t.like(b, { atimensec: 1, mtimensec: 5, ctimensec: 9, mode: 0o100644, uid: 1000, gid: 100 });
});

test('READ: fuse_read_in', (t) => {
  const b = body(
    Opcode.READ,
    '0807060504030201' + // fh
      '0000000001000000' + // offset 4 GiB
      '00000200' + // size 128 KiB
      '02000000' + // read_flags LOCKOWNER
      '0d00000000000000' + // lock_owner
      '00800000' + // flags O_LARGEFILE
      '00000000',
  );
  t.like(b, { fh: 0x0102030405060708n, offset: 2 ** 32, size: 131072, readFlags: 2, lockOwner: 13n, flags: 0o100000 });
});

const writeIn =
  '0807060504030201' + // 0 fh 0x0102030405060708
  '0000000001000000' + // 8 offset 0x100000000
  '05000000' + // 16 size 5
  '02000000' + // 20 write_flags LOCKOWNER
  '0df0fecaefbeadde' + // 24 lock_owner 0xdeadbeefcafef00d
  '02800000' + // 32 flags 0o100002
  '00000000'; // 36 padding

test('WRITE: fuse_write_in then exactly `size` bytes of data', (t) => {
  const b = body(Opcode.WRITE, writeIn + '6162636465' + '7a7a'); // "abcde" + 2 stray bytes
  t.like(b, { fh: 0x0102030405060708n, offset: 0x100000000, size: 5, writeFlags: 2, lockOwner: 0xdeadbeefcafef00dn, flags: 0o100002 });
  bytesEqual(t, b.data, Buffer.from('abcde'));
});

test('WRITE: data shorter than size throws', (t) => {
  rejectsMalformed(t, () => body(Opcode.WRITE, writeIn + '61626364'), 'WRITE with 4 of 5 data bytes');
  rejectsMalformed(t, () => body(Opcode.WRITE, writeIn + '6162636465', { end: 44 }), 'WRITE cut by end');
});

test('SETXATTR without SETXATTR_EXT: 8-byte header, name, value (value may hold NULs)', (t) => {
  const b = body(
    Opcode.SETXATTR,
    '03000000' + // size 3
      '01000000' + // flags XATTR_CREATE
      '757365722e6100' + // "user.a\0"
      '0100ff', // value
  );
  t.like(b, { size: 3, flags: 1, setxattrFlags: 0 });
  bytesEqual(t, b.name, Buffer.from('user.a'));
  bytesEqual(t, b.value, hex('0100ff'));
});

test('SETXATTR with SETXATTR_EXT: 16-byte header, name, value', (t) => {
  const b = body(
    Opcode.SETXATTR,
    '04000000' + // size 4
      '02000000' + // flags XATTR_REPLACE
      '01000000' + // setxattr_flags ACL_KILL_SGID
      '00000000' + // padding
      '73797374656d2e706f7369785f61636c5f61636365737300' + // "system.posix_acl_access\0"
      '02000000', // value
    { ext: true },
  );
  t.like(b, { size: 4, flags: 2, setxattrFlags: 1 });
  bytesEqual(t, b.name, Buffer.from('system.posix_acl_access'));
  bytesEqual(t, b.value, hex('02000000'));
});

test('SETXATTR: a value shorter than size throws', (t) => {
  rejectsMalformed(t, () => body(Opcode.SETXATTR, '05000000' + '00000000' + '6100' + '0102'), 'SETXATTR value 2 of 5');
});

test('GETXATTR and LISTXATTR', (t) => {
  const g = body(Opcode.GETXATTR, '00000000' + '00000000' + '757365722e7800');
  t.is(g.size, 0);
  bytesEqual(t, g.name, Buffer.from('user.x'));
  t.is(body(Opcode.LISTXATTR, '00100000' + '00000000').size, 4096);
});

const lkIn =
  '1100000000000000' + // 0 fh 0x11
  '1122334455667788' + // 8 owner 0x8877665544332211
  '6400000000000000' + // 16 lk.start 100
  'ffffffffffffff7f' + // 24 lk.end OFFSET_MAX
  '01000000' + // 32 lk.type F_WRLCK
  '92100000' + // 36 lk.pid 4242
  '01000000' + // 40 lk_flags FUSE_LK_FLOCK
  '00000000'; // 44 padding

test('GETLK/SETLK/SETLKW: fuse_lk_in with the fuse_file_lock inside', (t) => {
  for (const op of [Opcode.GETLK, Opcode.SETLK, Opcode.SETLKW] as const) {
    const b = body(op, lkIn);
    t.is(b.fh, 0x11n);
    t.is(b.owner, 0x8877665544332211n);
    t.is(b.lkFlags, abi.FUSE_LK_FLOCK);
    t.is(b.lk.start, 100);
    t.is(b.lk.type, 1);
    t.is(b.lk.pid, 4242);
    // OFFSET_MAX does not fit a double; whatever arrives must be read as "infinite".
    t.true(b.lk.end >= 2 ** 53);
  }
});

test('FLUSH and RELEASE carry the lock owner', (t) => {
  const f = body(Opcode.FLUSH, '0300000000000000' + '00000000' + '00000000' + 'efcdab8967452301');
  t.like(f, { fh: 3n, lockOwner: 0x0123456789abcdefn });
  const r = body(Opcode.RELEASE, '0300000000000000' + '02800000' + '03000000' + 'efcdab8967452301');
  t.like(r, { fh: 3n, flags: 0o100002, releaseFlags: abi.FUSE_RELEASE_FLUSH | abi.FUSE_RELEASE_FLOCK_UNLOCK, lockOwner: 0x0123456789abcdefn });
});

test('FORGET and bodiless opcodes', (t) => {
  t.is(body(Opcode.FORGET, '0500000000000000').nlookup, 5n);
  t.deepEqual(body(Opcode.STATFS, ''), {});
  t.deepEqual(body(Opcode.READLINK, ''), {});
});

test('opcodes the session handles itself, and unknown ones, decode to undefined', (t) => {
  const buf = hex(HDR + zeros(64));
  for (const op of [Opcode.INIT, Opcode.INTERRUPT, Opcode.BATCH_FORGET, Opcode.DESTROY, 4096, 9999]) {
    t.is(decodeBody(op, buf, 40, buf.length, false), undefined, `opcode ${op}`);
  }
});

test('truncated fixed-size bodies throw instead of returning garbage', (t) => {
  const cases: Array<[string, number, number]> = [
    ['GETATTR', Opcode.GETATTR, 15],
    ['SETATTR', Opcode.SETATTR, 87],
    ['READ', Opcode.READ, 39],
    ['WRITE', Opcode.WRITE, 39],
    ['OPEN', Opcode.OPEN, 7],
    ['RELEASE', Opcode.RELEASE, 23],
    ['FLUSH', Opcode.FLUSH, 23],
    ['FSYNC', Opcode.FSYNC, 15],
    ['GETLK', Opcode.GETLK, 47],
    ['SETLKW', Opcode.SETLKW, 40],
    ['FORGET', Opcode.FORGET, 7],
    ['RENAME2', Opcode.RENAME2, 15],
    ['LSEEK', Opcode.LSEEK, 23],
    ['COPY_FILE_RANGE_64', Opcode.COPY_FILE_RANGE_64, 55],
    ['STATX', Opcode.STATX, 23],
    ['FALLOCATE', Opcode.FALLOCATE, 31],
    ['SETXATTR', Opcode.SETXATTR, 7],
  ];
  for (const [name, op, len] of cases) {
    const buf = hex(HDR + 'ab'.repeat(len));
    rejectsMalformed(t, () => decodeBody(op, buf, 40, buf.length, false), `${name} with ${len} bytes`);
  }
  // The bytes are there in the buffer, but `end` (request length) stops before them.
  const buf = hex(HDR + zeros(48));
  rejectsMalformed(t, () => decodeBody(Opcode.GETLK, buf, 40, 40 + 47, false), 'GETLK cut by end');
  const compatOnly = hex(HDR + '01000000' + '00000000' + '6100');
  rejectsMalformed(t, () => decodeBody(Opcode.SETXATTR, compatOnly, 40, compatOnly.length, true), 'SETXATTR_EXT but an 8-byte header');
});

test('unterminated names throw ProtocolError', (t) => {
  const nameless: Array<[string, number, string, number?]> = [
    ['LOOKUP', Opcode.LOOKUP, '616263'],
    ['UNLINK', Opcode.UNLINK, ''],
    ['SYMLINK target', Opcode.SYMLINK, '6100' + '62'],
    ['RENAME newname', Opcode.RENAME, '0100000000000000' + '6100' + '62'],
    ['RENAME2 oldname', Opcode.RENAME2, '0100000000000000' + '00000000' + '00000000' + '61'],
    ['MKDIR', Opcode.MKDIR, 'ed010000' + '00000000' + '6464'],
    ['CREATE', Opcode.CREATE, zeros(16) + '66'],
    ['GETXATTR', Opcode.GETXATTR, zeros(8) + '75'],
    // The NUL exists, but only after `end` (in what would be the extension area).
    ['LOOKUP NUL past end', Opcode.LOOKUP, '61626300', 3],
  ];
  for (const [name, op, b, end] of nameless) {
    const buf = hex(HDR + b);
    const e = t.throws(() => decodeBody(op, buf, 40, end === undefined ? buf.length : 40 + end, false), undefined, name);
    t.true(e instanceof ProtocolError || e instanceof RangeError, `${name}: ${String(e)}`);
  }
  t.throws(() => body(Opcode.LOOKUP, '616263'), { instanceOf: ProtocolError });
});

// --- replies -------------------------------------------------------------------------

const attr: R.FuseAttr = {
  ino: 0x99n,
  size: 0x123456789,
  blocks: 16,
  atimeSec: 1700000000,
  atimeNsec: 999999999,
  mtimeSec: 0x100000000,
  mtimeNsec: 1,
  ctimeSec: 5,
  ctimeNsec: 0,
  mode: 0o100644,
  nlink: 2,
  uid: 1000,
  gid: 65534,
  rdev: 0x801,
  blksize: 4096,
};
/** `attr` as fuse_attr, written out field by field. */
const attrHex =
  '9900000000000000' + // 0 ino
  '8967452301000000' + // 8 size 0x123456789
  '1000000000000000' + // 16 blocks 16
  '00f1536500000000' + // 24 atime 1700000000 = 0x6553f100
  '0000000001000000' + // 32 mtime 0x100000000
  '0500000000000000' + // 40 ctime 5
  'ffc99a3b' + // 48 atimensec 999999999 = 0x3b9ac9ff
  '01000000' + // 52 mtimensec
  '00000000' + // 56 ctimensec
  'a4810000' + // 60 mode 0o100644 = 0x81a4
  '02000000' + // 64 nlink
  'e8030000' + // 68 uid 1000
  'feff0000' + // 72 gid 65534
  '01080000' + // 76 rdev 0x801
  '00100000' + // 80 blksize 4096
  '00000000'; // 84 flags

const entry: R.EntryReply = { nodeid: 0x0102030405060708n, generation: 3n, attr, entryValid: 1.5, attrValid: 2.25 };
const entryHex =
  '0807060504030201' + // 0 nodeid
  '0300000000000000' + // 8 generation
  '0100000000000000' + // 16 entry_valid 1 s
  '0200000000000000' + // 24 attr_valid 2 s
  '0065cd1d' + // 32 entry_valid_nsec 500000000 = 0x1dcd6500
  '80b2e60e' + // 36 attr_valid_nsec 250000000 = 0x0ee6b280
  attrHex; // 40 attr

test('entryOut: exact 128 bytes', (t) => {
  const buf = R.entryOut(entry);
  t.is(buf.length, 128);
  bytesEqual(t, buf, hex(entryHex));
  // Spot checks at the documented offsets.
  t.is(buf.readBigUInt64LE(0), 0x0102030405060708n);
  t.is(buf.readBigUInt64LE(16), 1n);
  t.is(buf.readBigUInt64LE(40), 0x99n);
  t.is(buf.readUInt32LE(40 + 60), 0o100644);
});

test('entryOut: a negative entry is nodeid 0 with zeroed attributes', (t) => {
  const buf = R.entryOut({ nodeid: 0n, generation: 0n, attr: undefined, entryValid: 5, attrValid: 0 });
  bytesEqual(t, buf, hex(zeros(16) + '0500000000000000' + zeros(8) + zeros(8) + zeros(88)));
});

test('attrOut: exact 104 bytes', (t) => {
  const buf = R.attrOut(attr, 1.5);
  t.is(buf.length, 104);
  bytesEqual(t, buf, hex('0100000000000000' + '0065cd1d' + '00000000' + attrHex));
});

test('negative timestamps are written as two’s complement', (t) => {
  const old = { ...attr, atimeSec: -1, mtimeSec: -31536000, ctimeSec: -(2 ** 40) };
  const buf = R.attrOut(old, 0);
  const A = 16; // attr inside attr_out
  bytesEqual(t, buf.subarray(A + 24, A + 32), hex('ffffffffffffffff'), 'atime -1');
  bytesEqual(t, buf.subarray(A + 32, A + 40), hex('80cc1efeffffffff'), 'mtime -31536000 = 0xfffffffffe1ecc80');
  bytesEqual(t, buf.subarray(A + 40, A + 48), hex('0000000000ffffff'), 'ctime -2^40');
  // The rest of the struct is unchanged.
  bytesEqual(t, buf.subarray(A + 48), hex(attrHex).subarray(48));
});

test('createOut: entry_out then open_out, 144 bytes', (t) => {
  const buf = R.createOut(entry, { fh: 1n, openFlags: abi.FOPEN_KEEP_CACHE, backingId: 0 });
  t.is(buf.length, 144);
  bytesEqual(t, buf, hex(entryHex + '0100000000000000' + '02000000' + '00000000'));
});

test('openOut: fh, open_flags, backing_id', (t) => {
  bytesEqual(
    t,
    R.openOut({ fh: 0xfedcba9876543210n, openFlags: abi.FOPEN_PASSTHROUGH | abi.FOPEN_DIRECT_IO, backingId: 7 }),
    hex('1032547698badcfe' + '81000000' + '07000000'),
  );
  bytesEqual(t, R.openOut({ fh: 0n, openFlags: 0, backingId: -1 }), hex(zeros(8) + '00000000' + 'ffffffff'), 'backing_id is s32');
});

test('writeOut and friends: small fixed replies', (t) => {
  bytesEqual(t, R.writeOut(0x12345), hex('45230100' + '00000000'));
  bytesEqual(t, R.getxattrSizeOut(300), hex('2c010000' + '00000000'));
  bytesEqual(t, R.u64Out(2 ** 40 + 1), hex('0100000000010000'));
});

test('statfsOut: exact 80 bytes', (t) => {
  const buf = R.statfsOut({ blocks: 0x100000005, bfree: 3, bavail: 2, files: 1000, ffree: 999, bsize: 4096, namelen: 255, frsize: 512 });
  bytesEqual(
    t,
    buf,
    hex(
      '0500000001000000' + // 0 blocks
        '0300000000000000' + // 8 bfree
        '0200000000000000' + // 16 bavail
        'e803000000000000' + // 24 files
        'e703000000000000' + // 32 ffree
        '00100000' + // 40 bsize
        'ff000000' + // 44 namelen
        '00020000' + // 48 frsize
        '00000000' + // 52 padding
        zeros(24), // 56 spare
    ),
  );
});

test('lkOut: fuse_file_lock for a finite lock', (t) => {
  bytesEqual(t, R.lkOut({ start: 100, end: 199, type: 0, pid: 4242 }), hex('6400000000000000' + 'c700000000000000' + '00000000' + '92100000'));
  bytesEqual(t, R.lkOut({ start: 0, end: 0, type: 2, pid: 0 }), hex(zeros(16) + '02000000' + zeros(4)));
});

// The kernel (fs/fuse/file.c convert_fuse_file_lock) answers EIO to a GETLK
// reply whose F_RDLCK/F_WRLCK lock has end > OFFSET_MAX. A whole-file lock
// arrives as end = 0x7fffffffffffffff, which decodes to the double 2**63; echoing
// that back must give 0x7fffffffffffffff again, not 0x8000000000000000.
test('lkOut: a whole-file lock echoed back keeps end = OFFSET_MAX', (t) => {
  const b = body(Opcode.GETLK, lkIn);
  const out = R.lkOut({ start: 0, end: b.lk.end, type: 1, pid: 4242 });
  bytesEqual(t, out, hex(zeros(8) + 'ffffffffffffff7f' + '01000000' + '92100000'));
  bytesEqual(t, R.lkOut({ start: 0, end: Infinity, type: 0, pid: 1 }).subarray(8, 16), hex('ffffffffffffff7f'), 'Infinity');
  bytesEqual(t, R.lkOut({ start: 0, end: Number.MAX_SAFE_INTEGER, type: 0, pid: 1 }).subarray(8, 16), hex('ffffffffffff1f00'), '2^53-1 is exact');
});

test('DirBuffer.recordSize: 24 + namelen (152 + namelen for plus), padded to 8', (t) => {
  const plain: Array<[number, number]> = [
    [0, 24],
    [1, 32],
    [7, 32],
    [8, 32],
    [9, 40],
    [255, 280],
  ];
  for (const [n, size] of plain) t.is(R.DirBuffer.recordSize(n, false), size, `plain ${n}`);
  const plus: Array<[number, number]> = [
    [1, 160],
    [8, 160],
    [9, 168],
    [255, 408],
  ];
  for (const [n, size] of plus) t.is(R.DirBuffer.recordSize(n, true), size, `plus ${n}`);
});

test('DirBuffer: fuse_dirent records, zero padded, and add() false when full', (t) => {
  const d = new R.DirBuffer(64, false);
  t.true(d.add(Buffer.from('a'), 5n, 4, 1)); // 32 bytes
  t.false(d.add(Buffer.from('bcdefghij'), 6n, 8, 2), '40 more bytes do not fit');
  t.true(d.fits(2));
  t.true(d.add(Buffer.from('bc'), 0xffffffffffffffffn, 8, 2)); // 32 bytes: exactly full
  t.false(d.fits(0));
  t.false(d.add(Buffer.from('x'), 7n, 8, 3));
  bytesEqual(
    t,
    d.result(),
    hex(
      '0500000000000000' + // ino 5
        '0100000000000000' + // off 1
        '01000000' + // namelen 1
        '04000000' + // type DT_DIR
        '61' +
        zeros(7) + // "a" + padding to 32
        'ffffffffffffffff' + // ino
        '0200000000000000' + // off 2
        '02000000' + // namelen 2
        '08000000' + // type DT_REG
        '6263' +
        zeros(6),
    ),
  );
});

test('DirBuffer: an empty listing is empty', (t) => {
  const d = new R.DirBuffer(4096, true);
  t.is(d.result().length, 0);
  t.false(new R.DirBuffer(23, false).add(Buffer.alloc(0), 1n, 0, 1));
});

test('DirBuffer plus: fuse_direntplus = entry_out (128) + dirent (24) + name at 152', (t) => {
  const d = new R.DirBuffer(330, true);
  t.true(d.add(Buffer.from('f'), 0x99n, 8, 7, entry)); // 160
  t.true(d.add(Buffer.from('ghijklmno'), 0x42n, 4, 8)); // 168 → 328, no entry data
  t.false(d.add(Buffer.from('p'), 1n, 8, 9));
  const buf = d.result();
  t.is(buf.length, 328);
  bytesEqual(
    t,
    buf.subarray(0, 160),
    hex(entryHex + '9900000000000000' + '0700000000000000' + '01000000' + '08000000' + '66' + zeros(7)),
  );
  bytesEqual(
    t,
    buf.subarray(160),
    hex(zeros(128) + '4200000000000000' + '0800000000000000' + '09000000' + '04000000' + '6768696a6b6c6d6e6f' + zeros(7)),
  );
});

test('notifyInvalEntry: 16-byte struct, name, counted NUL', (t) => {
  const buf = R.notifyInvalEntry(1n, Buffer.from('foo'), false);
  t.is(buf.length, 16 + 3 + 1);
  bytesEqual(t, buf, hex('0100000000000000' + '03000000' + '00000000' + '666f6f00'));
  bytesEqual(t, R.notifyInvalEntry(0x1234n, Buffer.from('a'), true), hex('3412000000000000' + '01000000' + '01000000' + '6100'), 'FUSE_EXPIRE_ONLY');
});

test('notifyDelete: parent, child, namelen, name, counted NUL', (t) => {
  const buf = R.notifyDelete(1n, 0x42n, Buffer.from('ab'));
  t.is(buf.length, 24 + 2 + 1);
  bytesEqual(t, buf, hex('0100000000000000' + '4200000000000000' + '02000000' + '00000000' + '616200'));
});

test('notifyInvalInode: signed off and len', (t) => {
  bytesEqual(t, R.notifyInvalInode(5n, -1, 0), hex('0500000000000000' + 'ffffffffffffffff' + zeros(8)), 'attributes only');
  bytesEqual(t, R.notifyInvalInode(5n, 4096, -1), hex('0500000000000000' + '0010000000000000' + 'ffffffffffffffff'), 'pages from 4096 to EOF');
});

test('statxOut: header, mask and times at documented offsets', (t) => {
  const buf = R.statxOut({ ...attr, atimeSec: -1, atimeNsec: 7 }, 1.5, 8, 1, { sec: 1234, nsec: 5 });
  t.is(buf.length, 288);
  bytesEqual(t, buf.subarray(0, 16), hex('0100000000000000' + '0065cd1d' + '00000000'));
  const S = 32;
  t.is(buf.readUInt32LE(S + 0), 0xfff, 'BASIC_STATS|BTIME');
  t.is(buf.readUInt32LE(S + 4), 4096, 'blksize');
  t.is(buf.readUInt32LE(S + 16), 2, 'nlink');
  t.is(buf.readUInt16LE(S + 28), 0o100644, 'mode');
  t.is(buf.readBigUInt64LE(S + 32), 0x99n, 'ino');
  t.is(buf.readBigUInt64LE(S + 40), 0x123456789n, 'size');
  bytesEqual(t, buf.subarray(S + 64, S + 80), hex('ffffffffffffffff' + '07000000' + '00000000'), 'atime');
  bytesEqual(t, buf.subarray(S + 80, S + 96), hex('d204000000000000' + '05000000' + '00000000'), 'btime');
  t.is(buf.readUInt32LE(S + 128), 8, 'rdev_major');
  t.is(buf.readUInt32LE(S + 132), 1, 'rdev_minor');
});
