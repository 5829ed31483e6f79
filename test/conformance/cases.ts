// POSIX parity conformance cases.
//
// Each case performs an ordinary syscall sequence under `root` (an empty
// directory it owns) and returns a JSON-serialisable, normalised result. The
// parity tests run every case once on a plain directory and once inside a
// braidfs mount and require the two results to be deepEqual, so a case must
// never return anything that depends on *where* it ran (absolute paths,
// inode numbers, st_dev, unset timestamps, st_blocks — only relations).
//
// Cases run as root from the test process. python3 snippets (util.py) and
// util-linux tools are used for what node:fs cannot express.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  attemptAsync,
  dedent,
  describeStat,
  fstatOf,
  ino,
  lstatOf,
  oct,
  py,
  readText,
  run,
  sleep,
  sortedDir,
  statOf,
  timesNs,
} from './util.js';

export type Case = (root: string) => Promise<unknown>;
type Rec = Record<string, unknown>;

const C = fs.constants;
const GiB = 2 ** 30;

const hex = (b: Buffer): string => b.toString('hex');
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

function preadHex(fd: number, len: number, pos: number): string {
  const b = Buffer.alloc(len);
  const n = fs.readSync(fd, b, 0, len, pos);
  return hex(b.subarray(0, n));
}

/** Runs a tool with cwd=root; returns its exit code and stderr with root paths removed. */
async function tool(root: string, cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const r = await run(cmd, args, { cwd: root });
  return { code: r.code, stderr: r.stderr.split(root).join('<root>').trim() };
}

/** A deterministic byte pattern. */
function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

// ---------------------------------------------------------------------------

export const cases: Record<string, Case> = {
  // -- open / create / read / write ----------------------------------------
  'create-read-write': async (root) => {
    const p = join(root, 'f');
    fs.mkdirSync(join(root, 'd'));
    const r: Rec = {};
    const fd = fs.openSync(p, 'wx', 0o644);
    r['write'] = fs.writeSync(fd, 'hello world');
    r['fstat'] = fstatOf(fd);
    r['readOnWronly'] = attempt(() => fs.readSync(fd, Buffer.alloc(4), 0, 4, 0));
    fs.closeSync(fd);
    r['content'] = readText(p);
    r['stat'] = statOf(p);
    const fd2 = fs.openSync(p, 'r+');
    const b = Buffer.alloc(5);
    r['readCursor'] = [fs.readSync(fd2, b, 0, 5, null), b.toString()];
    r['writeAtCursor'] = fs.writeSync(fd2, 'XY');
    const rest = Buffer.alloc(100);
    r['readRest'] = rest.subarray(0, fs.readSync(fd2, rest, 0, 100, null)).toString();
    r['readAtEof'] = fs.readSync(fd2, rest, 0, 100, null);
    fs.closeSync(fd2);
    r['content2'] = readText(p);
    const fd3 = fs.openSync(p, 'r');
    r['writeOnRdonly'] = attempt(() => fs.writeSync(fd3, 'x'));
    fs.closeSync(fd3);
    r['openMissing'] = attempt(() => fs.openSync(join(root, 'missing'), 'r'));
    r['openMissingParent'] = attempt(() => fs.openSync(join(root, 'nope', 'x'), 'w'));
    r['openDirForWrite'] = attempt(() => fs.openSync(join(root, 'd'), 'r+'));
    r['openDirReadonly'] = attempt(() => {
      fs.closeSync(fs.openSync(join(root, 'd'), 'r'));
    });
    r['openFileWithODirectory'] = attempt(() => fs.openSync(p, C.O_RDONLY | C.O_DIRECTORY));
    r['openUnderFile'] = attempt(() => fs.openSync(join(p, 'x'), 'r'));
    r['openFileTrailingSlash'] = attempt(() => fs.openSync(p + '/', 'r'));
    r['createTrailingSlash'] = attempt(() => fs.openSync(join(root, 'newf') + '/', 'w'));
    // Mode given to open(O_CREAT) is filtered by the (shared) umask of this process.
    fs.closeSync(fs.openSync(join(root, 'm777'), 'w', 0o777));
    fs.closeSync(fs.openSync(join(root, 'm600'), 'w', 0o600));
    fs.closeSync(fs.openSync(join(root, 'm000'), 'w', 0o000));
    r['modes'] = ['m777', 'm600', 'm000'].map((n) => statOf(join(root, n)));
    // Empty file and zero-length I/O.
    fs.writeFileSync(join(root, 'empty'), '');
    r['empty'] = [statOf(join(root, 'empty')), readText(join(root, 'empty'))];
    const fd4 = fs.openSync(join(root, 'empty'), 'r+');
    r['zeroWrite'] = fs.writeSync(fd4, Buffer.alloc(0));
    r['zeroRead'] = fs.readSync(fd4, Buffer.alloc(1), 0, 0, 0);
    fs.closeSync(fd4);
    r['listing'] = sortedDir(root);
    return r;
  },

  'open-excl': async (root) => {
    const r: Rec = {};
    fs.writeFileSync(join(root, 'f'), 'x');
    fs.mkdirSync(join(root, 'd'));
    fs.symlinkSync('target', join(root, 'dangling'));
    r['exclOnFile'] = attempt(() => fs.openSync(join(root, 'f'), 'wx'));
    r['exclOnDir'] = attempt(() => fs.openSync(join(root, 'd'), C.O_CREAT | C.O_EXCL | C.O_RDONLY));
    r['exclOnDanglingSymlink'] = attempt(() => fs.openSync(join(root, 'dangling'), 'wx'));
    r['targetAfterExcl'] = lstatOf(join(root, 'target'));
    // Without O_EXCL, O_CREAT follows a dangling symlink and creates its target.
    r['creatThroughDangling'] = attempt(() => {
      const fd = fs.openSync(join(root, 'dangling'), 'w', 0o640);
      fs.writeSync(fd, 'via link');
      fs.closeSync(fd);
    });
    r['target'] = [lstatOf(join(root, 'target')), readText(join(root, 'target'))];
    r['exclNew'] = attempt(() => {
      fs.closeSync(fs.openSync(join(root, 'new'), 'wx', 0o600));
    });
    r['new'] = statOf(join(root, 'new'));
    r['content'] = readText(join(root, 'f'));
    return r;
  },

  'open-trunc': async (root) => {
    const p = join(root, 'f');
    const r: Rec = {};
    fs.writeFileSync(p, 'hello world');
    const fd = fs.openSync(p, 'w'); // O_WRONLY|O_CREAT|O_TRUNC
    r['fstatAfterTrunc'] = fstatOf(fd);
    fs.closeSync(fd);
    r['afterTrunc'] = [statOf(p), readText(p)];
    fs.writeFileSync(p, 'abcdef');
    const fd2 = fs.openSync(p, C.O_RDWR | C.O_TRUNC);
    r['rdwrTruncSize'] = fs.fstatSync(fd2).size;
    fs.writeSync(fd2, 'xy');
    r['rdwrReadBack'] = preadHex(fd2, 10, 0);
    fs.closeSync(fd2);
    fs.writeFileSync(p, 'abcdef');
    // O_RDONLY|O_TRUNC: unspecified by POSIX, Linux truncates.
    fs.closeSync(fs.openSync(p, C.O_RDONLY | C.O_TRUNC));
    r['rdonlyTrunc'] = readText(p);
    // Root may O_TRUNC a 0444 file.
    fs.writeFileSync(p, 'abcdef');
    fs.chmodSync(p, 0o444);
    r['truncReadonlyAsRoot'] = attempt(() => fs.closeSync(fs.openSync(p, 'w')));
    r['final'] = [statOf(p), readText(p)];
    return r;
  },

  'open-append': async (root) => {
    const p = join(root, 'log');
    const r: Rec = {};
    fs.appendFileSync(p, 'first\n');
    fs.appendFileSync(p, 'second\n');
    r['twoAppends'] = readText(p);
    const a = fs.openSync(p, 'a');
    const b = fs.openSync(p, 'a');
    fs.writeSync(a, 'A');
    fs.writeSync(b, 'B');
    fs.writeSync(a, 'C');
    // pwrite on an O_APPEND fd appends on Linux (the offset is ignored).
    fs.writeSync(b, 'P', 0);
    r['interleaved'] = readText(p);
    r['fstat'] = fstatOf(a);
    const t = fs.openSync(p, 'r+');
    fs.ftruncateSync(t, 3);
    fs.closeSync(t);
    fs.writeSync(a, 'Z');
    r['afterTruncate'] = readText(p);
    fs.closeSync(a);
    fs.closeSync(b);
    // O_APPEND|O_RDWR: reads use the file offset, writes go to the end.
    const c = fs.openSync(p, 'a+');
    const buf = Buffer.alloc(2);
    r['readFromStart'] = [fs.readSync(c, buf, 0, 2, 0), buf.toString()];
    fs.writeSync(c, 'E');
    fs.closeSync(c);
    r['final'] = [statOf(p), readText(p)];
    return r;
  },

  'pread-pwrite': async (root) => {
    const p = join(root, 'f');
    const r: Rec = {};
    const fd = fs.openSync(p, 'w+');
    r['w0'] = fs.writeSync(fd, 'abc', 0);
    r['w100'] = fs.writeSync(fd, 'XYZ', 100);
    r['sizeAfterGap'] = fs.fstatSync(fd).size;
    r['w10'] = fs.writeSync(fd, 'mid', 10);
    r['sizeAfterInner'] = fs.fstatSync(fd).size;
    r['r95'] = preadHex(fd, 10, 95);
    r['r0'] = preadHex(fd, 16, 0);
    r['rAtEof'] = preadHex(fd, 10, 103);
    r['rPastEof'] = preadHex(fd, 10, 100000);
    // positional I/O must not move the file offset
    const b = Buffer.alloc(3);
    fs.readSync(fd, b, 0, 3, null);
    r['cursorRead'] = b.toString();
    r['whole'] = sha(fs.readFileSync(p));
    fs.closeSync(fd);
    r['stat'] = statOf(p);
    return r;
  },

  'truncate-ftruncate': async (root) => {
    const p = join(root, 'f');
    const r: Rec = {};
    fs.writeFileSync(p, '0123456789');
    const fd = fs.openSync(p, 'r+');
    fs.ftruncateSync(fd, 5);
    r['shrink'] = [fs.fstatSync(fd).size, readText(p)];
    fs.ftruncateSync(fd, 20);
    r['grow'] = [fs.fstatSync(fd).size, hex(fs.readFileSync(p))];
    r['readGrownTail'] = preadHex(fd, 30, 3);
    fs.writeSync(fd, 'T', 25);
    r['writePastGrown'] = hex(fs.readFileSync(p));
    fs.closeSync(fd);
    fs.truncateSync(p, 3);
    r['truncatePath'] = [statOf(p), readText(p)];
    fs.truncateSync(p, 0);
    r['truncateZero'] = statOf(p);
    r['truncateMissing'] = attempt(() => fs.truncateSync(join(root, 'missing'), 1));
    fs.mkdirSync(join(root, 'd'));
    r['truncateDir'] = attempt(() => fs.truncateSync(join(root, 'd'), 1));
    const ro = fs.openSync(p, 'r');
    r['ftruncateRdonly'] = attempt(() => fs.ftruncateSync(ro, 1));
    fs.closeSync(ro);
    fs.symlinkSync('f', join(root, 'l'));
    fs.writeFileSync(p, 'abcdef');
    fs.truncateSync(join(root, 'l'), 2);
    r['truncateViaSymlink'] = [lstatOf(join(root, 'l')), readText(p)];
    // Truncation discards data: grow again must read zeros, not the old bytes.
    fs.truncateSync(p, 6);
    r['regrowZeros'] = hex(fs.readFileSync(p));
    return r;
  },

  'large-io': async (root) => {
    const p = join(root, 'big');
    const data = pattern(8 * 1024 * 1024 + 12345, 42);
    const fd = fs.openSync(p, 'w');
    for (let off = 0; off < data.length; off += 131073) {
      const n = Math.min(131073, data.length - off);
      fs.writeSync(fd, data, off, n, off);
    }
    fs.closeSync(fd);
    const rfd = fs.openSync(p, 'r');
    const chunks: Buffer[] = [];
    for (;;) {
      const b = Buffer.alloc(65537);
      const n = fs.readSync(rfd, b, 0, b.length, null);
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
    }
    const boundary = [128 * 1024 - 1, 1024 * 1024 - 3, 4 * 1024 * 1024].map((o) => preadHex(rfd, 7, o));
    fs.closeSync(rfd);
    const back = Buffer.concat(chunks);
    return {
      size: fs.statSync(p).size,
      equal: back.equals(data),
      sha: sha(back),
      boundary,
      readFile: sha(fs.readFileSync(p)),
    };
  },

  'o-direct': async (root) =>
    py(
      root,
      dedent(`
      buf = mmap.mmap(-1, 8192)
      buf.write(bytes(range(256)) * 32)
      fd = os.open('d', os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
      w = attempt(os.pwritev, fd, [buf], 0)
      rb = mmap.mmap(-1, 8192)
      rd = attempt(os.preadv, fd, [rb], 0)
      os.close(fd)
      R = {'write': w, 'read': rd, 'same': rb[:] == buf[:], 'size': os.stat('d').st_size,
           'buffered': hashlib.sha256(open('d', 'rb').read()).hexdigest()[:16]}
      `),
    ),

  // -- sparse files, seek, fallocate, copy_file_range -------------------------
  'sparse-5gib': async (root) => {
    const p = join(root, 'sparse');
    const r: Rec = {};
    const fd = fs.openSync(p, 'w+');
    r['write'] = fs.writeSync(fd, Buffer.from('Q'), 0, 1, 5 * GiB);
    const st = fs.fstatSync(fd);
    r['size'] = st.size;
    r['blocksSmall'] = st.blocks <= 64;
    r['byte'] = preadHex(fd, 4, 5 * GiB);
    r['hole'] = preadHex(fd, 16, GiB);
    r['edge'] = preadHex(fd, 16, 5 * GiB - 8);
    fs.closeSync(fd);
    r['stat'] = statOf(p);
    r['blocksSmallByPath'] = fs.statSync(p).blocks <= 64;
    // crossing the 4 GiB boundary
    const q = join(root, 'cross4g');
    const qfd = fs.openSync(q, 'w+');
    fs.writeSync(qfd, Buffer.from('ABCD'), 0, 4, 4 * GiB - 2);
    r['cross'] = [fs.fstatSync(qfd).size, preadHex(qfd, 8, 4 * GiB - 4)];
    fs.closeSync(qfd);
    // A file that is all hole.
    const h = join(root, 'allhole');
    fs.writeFileSync(h, '');
    fs.truncateSync(h, 5 * GiB);
    r['allHole'] = [statOf(h), fs.statSync(h).blocks === 0];
    r['seek'] = await py(
      root,
      dedent(`
      G = 1 << 30
      fd = os.open('sparse', os.O_RDONLY)
      h = os.open('allhole', os.O_RDONLY)
      R = {
        'data0': attempt(os.lseek, fd, 0, os.SEEK_DATA),
        'hole0': attempt(os.lseek, fd, 0, os.SEEK_HOLE),
        'dataFrom1G': attempt(os.lseek, fd, G, os.SEEK_DATA),
        'holeAtData': attempt(os.lseek, fd, 5 * G, os.SEEK_HOLE),
        'dataAtData': attempt(os.lseek, fd, 5 * G, os.SEEK_DATA),
        'dataAtEof': attempt(os.lseek, fd, 5 * G + 1, os.SEEK_DATA),
        'holeAtEof': attempt(os.lseek, fd, 5 * G + 1, os.SEEK_HOLE),
        'holePastEof': attempt(os.lseek, fd, 6 * G, os.SEEK_HOLE),
        'end': attempt(os.lseek, fd, 0, os.SEEK_END),
        'endPlus': attempt(os.lseek, fd, 10, os.SEEK_END),
        'negative': attempt(os.lseek, fd, -1, os.SEEK_SET),
        'allHoleData': attempt(os.lseek, h, 0, os.SEEK_DATA),
        'allHoleHole': attempt(os.lseek, h, 0, os.SEEK_HOLE),
      }
      `),
    );
    return r;
  },

  fallocate: async (root) => {
    const r: Rec = {};
    r['posix'] = await py(
      root,
      dedent(`
      fd = os.open('fa', os.O_RDWR | os.O_CREAT, 0o644)
      a = attempt(os.posix_fallocate, fd, 0, 1 << 20)
      st = os.fstat(fd)
      ro = os.open('fa', os.O_RDONLY)
      R = {'ret': a, 'size': st.st_size, 'allocated': st.st_blocks * 512 >= (1 << 20),
           'content': hashlib.sha256(os.pread(fd, 1 << 20, 0)).hexdigest()[:16],
           'onRdonly': attempt(os.posix_fallocate, ro, 0, 4096),
           'inner': attempt(os.posix_fallocate, fd, 4096, 4096), 'sizeAfterInner': os.fstat(fd).st_size}
      `),
    );
    r['keepSize'] = await tool(root, 'fallocate', ['-n', '-l', '2MiB', 'fa']);
    const st1 = fs.statSync(join(root, 'fa'));
    r['afterKeepSize'] = { size: st1.size, allocated: st1.blocks * 512 >= 2 * 1024 * 1024 };
    r['grow'] = await tool(root, 'fallocate', ['-l', '3MiB', 'fa']);
    r['afterGrow'] = statOf(join(root, 'fa'));
    // punch a hole
    fs.writeFileSync(join(root, 'ph'), Buffer.alloc(16384, 'x'));
    const before = fs.statSync(join(root, 'ph')).blocks;
    r['punch'] = await tool(root, 'fallocate', ['-p', '-o', '4096', '-l', '4096', 'ph']);
    const ph = fs.readFileSync(join(root, 'ph'));
    const after = fs.statSync(join(root, 'ph'));
    r['afterPunch'] = {
      size: after.size,
      blocksShrank: after.blocks < before,
      head: ph.subarray(0, 4096).every((c) => c === 0x78),
      hole: ph.subarray(4096, 8192).every((c) => c === 0),
      tail: ph.subarray(8192).every((c) => c === 0x78),
    };
    r['seekAfterPunch'] = await py(
      root,
      dedent(`
      fd = os.open('ph', os.O_RDONLY)
      R = [attempt(os.lseek, fd, 0, os.SEEK_HOLE), attempt(os.lseek, fd, 4096, os.SEEK_DATA)]
      `),
    );
    // punch past EOF keeps size, punch without KEEP_SIZE is invalid
    r['punchPastEof'] = await tool(root, 'fallocate', ['-p', '-o', '1MiB', '-l', '4096', 'ph']);
    r['sizeAfterPunchPastEof'] = fs.statSync(join(root, 'ph')).size;
    r['punchNoKeep'] = await py(
      root,
      dedent(`
      fd = os.open('ph', os.O_RDWR)
      libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
      R = cres(libc.fallocate(fd, 2, 0, 4096))
      `),
    );
    return r;
  },

  'copy-file-range': async (root) =>
    py(
      root,
      dedent(`
      data = bytes((i * 7 + 3) & 0xff for i in range(300000))
      with open('src', 'wb') as f:
          f.write(data)
      s = os.open('src', os.O_RDONLY)
      d = os.open('dst', os.O_RDWR | os.O_CREAT, 0o644)
      first = os.copy_file_range(s, d, 100000, 0, 0)
      off = first
      while off < len(data):
          n = os.copy_file_range(s, d, len(data) - off, off, off)
          if n == 0:
              break
          off += n
      R = {'firstPositive': first > 0, 'total': off}
      R['dstEqual'] = open('dst', 'rb').read() == data
      R['pastEof'] = attempt(os.copy_file_range, s, d, 100, 400000, 0)
      R['toOffset'] = attempt(os.copy_file_range, s, d, 10, 5, 1000000)
      R['dstSize'] = os.fstat(d).st_size
      R['dstTail'] = os.pread(d, 20, 999995).hex()
      R['overlapSameFile'] = attempt(os.copy_file_range, d, d, 100, 0, 50)
      w = os.open('src', os.O_WRONLY)
      R['fromWronly'] = attempt(os.copy_file_range, w, d, 10, 0, 0)
      R['toRdonly'] = attempt(os.copy_file_range, s, s, 10, 0, 500000)
      # fd offsets are used and advanced when no explicit offsets are given
      e = os.open('dst2', os.O_RDWR | os.O_CREAT, 0o644)
      os.lseek(s, 10, os.SEEK_SET)
      n1 = os.copy_file_range(s, e, 5)
      n2 = os.copy_file_range(s, e, 5)
      R['implicitOffsets'] = [n1, n2, os.lseek(s, 0, os.SEEK_CUR), os.lseek(e, 0, os.SEEK_CUR), open('dst2', 'rb').read().hex()]
      `),
    ),

  // -- directories ------------------------------------------------------------
  'mkdir-rmdir': async (root) => {
    const r: Rec = {};
    const d = join(root, 'd');
    r['mkdir'] = attempt(() => fs.mkdirSync(d));
    r['stat'] = statOf(d);
    r['rootNlinkAfterOne'] = fs.statSync(root).nlink;
    r['mkdirExisting'] = attempt(() => fs.mkdirSync(d));
    r['mkdirMissingParent'] = attempt(() => fs.mkdirSync(join(root, 'a', 'b', 'c')));
    fs.writeFileSync(join(root, 'file'), 'x');
    r['mkdirOverFile'] = attempt(() => fs.mkdirSync(join(root, 'file')));
    r['mkdirUnderFile'] = attempt(() => fs.mkdirSync(join(root, 'file', 'x')));
    r['mkdirMode700'] = [attempt(() => fs.mkdirSync(join(root, 'm700'), 0o700)), statOf(join(root, 'm700'))];
    r['mkdirMode1777'] = [attempt(() => fs.mkdirSync(join(root, 'm1777'), 0o1777)), statOf(join(root, 'm1777'))];
    r['mkdirTrailingSlash'] = attempt(() => fs.mkdirSync(join(root, 'ts') + '/'));
    r['mkdirRecursive'] = attempt(() => {
      fs.mkdirSync(join(root, 'r', 's', 't'), { recursive: true });
    });
    fs.mkdirSync(join(d, 'sub1'));
    fs.mkdirSync(join(d, 'sub2'));
    fs.writeFileSync(join(d, 'f'), '');
    r['nlinkWithSubdirs'] = fs.statSync(d).nlink;
    r['dotdotIsParent'] = ino(join(d, 'sub1', '..')) === ino(d);
    r['dotIsSelf'] = ino(join(d, '.')) === ino(d);
    r['rmdirNonEmpty'] = attempt(() => fs.rmdirSync(d));
    r['rmdirFile'] = attempt(() => fs.rmdirSync(join(root, 'file')));
    r['unlinkDir'] = attempt(() => fs.unlinkSync(d));
    r['unlinkFileTrailingSlash'] = attempt(() => fs.unlinkSync(join(root, 'file') + '/'));
    r['rmdirMissing'] = attempt(() => fs.rmdirSync(join(root, 'missing')));
    r['rmdirDot'] = attempt(() => fs.rmdirSync(join(d, 'sub1') + '/.'));
    fs.symlinkSync('d', join(root, 'ld'));
    r['rmdirSymlinkToDir'] = attempt(() => fs.rmdirSync(join(root, 'ld')));
    r['rmdirSub'] = attempt(() => fs.rmdirSync(join(d, 'sub1')));
    r['nlinkAfterRmdir'] = fs.statSync(d).nlink;
    r['statRemoved'] = statOf(join(d, 'sub1'));
    r['rmdirTrailingSlash'] = attempt(() => fs.rmdirSync(join(d, 'sub2') + '/'));
    fs.unlinkSync(join(d, 'f'));
    r['rmdirNowEmpty'] = attempt(() => fs.rmdirSync(d));
    r['rootNlinkEnd'] = fs.statSync(root).nlink;
    r['listing'] = sortedDir(root);
    // recreate under the same name: must be a fresh, empty directory
    fs.mkdirSync(d);
    r['recreated'] = [statOf(d), sortedDir(d)];
    return r;
  },

  'readdir-basic': async (root) => {
    const r: Rec = {};
    r['empty'] = sortedDir(root);
    for (const n of ['b', 'a', 'c', '.hidden', 'with space', 'ünïcödé']) fs.writeFileSync(join(root, n), n);
    fs.mkdirSync(join(root, 'dir'));
    fs.symlinkSync('a', join(root, 'link'));
    await run('mkfifo', [join(root, 'fifo')]);
    r['names'] = sortedDir(root);
    r['types'] = fs
      .readdirSync(root, { withFileTypes: true })
      .map((e) => [e.name, e.isFile() ? 'file' : e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : e.isFIFO() ? 'fifo' : 'other'])
      .sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
    const dh = fs.opendirSync(root);
    const seen: string[] = [];
    for (let e = dh.readSync(); e !== null; e = dh.readSync()) seen.push(e.name);
    dh.closeSync();
    r['opendirNames'] = seen.sort();
    r['readdirFile'] = attempt(() => fs.readdirSync(join(root, 'a')));
    r['readdirMissing'] = attempt(() => fs.readdirSync(join(root, 'missing')));
    r['readdirViaSymlink'] = attempt(() => {
      fs.symlinkSync('dir', join(root, 'dirlink'));
      fs.writeFileSync(join(root, 'dir', 'inner'), '');
      return fs.readdirSync(join(root, 'dirlink'));
    });
    r['lsA'] = (await run('ls', ['-A1', '--color=never'], { cwd: root })).stdout.split('\n');
    r['pyScandir'] = await py(root, `R = sorted([e.name, e.is_dir(follow_symlinks=False), e.is_symlink()] for e in os.scandir('.'))`);
    return r;
  },

  'readdir-many': async (root) => {
    const dir = join(root, 'many');
    fs.mkdirSync(dir);
    const N = 3000;
    const expected = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const name = `f${String(i).padStart(4, '0')}-${'x'.repeat(i % 60)}`;
      const size = i % 17;
      fs.writeFileSync(join(dir, name), Buffer.alloc(size, 97));
      expected.set(name, size);
    }
    const expectedNames = [...expected.keys()].sort();
    const summarise = (names: string[]): Rec => {
      const have = new Set(names);
      const sorted = [...names].sort();
      const dup = sorted.filter((n, i) => i > 0 && sorted[i - 1] === n);
      return {
        count: names.length,
        duplicates: dup.slice(0, 10),
        missing: expectedNames.filter((n) => !have.has(n)).slice(0, 10),
        unexpected: sorted.filter((n) => !expected.has(n)).slice(0, 10),
      };
    };
    const r: Rec = {};
    const names = fs.readdirSync(dir);
    r['readdir'] = summarise(names);
    // ls -la style: every entry's lstat (this is what READDIRPLUS serves)
    const bad: unknown[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const st = fs.lstatSync(join(dir, e.name));
      if (!e.isFile() || !st.isFile() || st.size !== expected.get(e.name) || st.nlink !== 1 || oct(st.mode) !== '0644') {
        bad.push([e.name, describeStat(st), e.isFile()]);
      }
    }
    r['lstatMismatches'] = bad.slice(0, 10);
    const ls = await run('ls', ['-lan', '--time-style=+T', '--color=never'], { cwd: dir });
    const lsBad: string[] = [];
    const lsNames: string[] = [];
    for (const line of ls.stdout.split('\n')) {
      const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+T\s(.*)$/.exec(line);
      if (!m) continue;
      const name = m[6]!;
      if (name === '.' || name === '..') continue;
      lsNames.push(name);
      if (m[1] !== '-rw-r--r--' || m[2] !== '1' || m[3] !== '0' || m[4] !== '0' || Number(m[5]) !== expected.get(name)) lsBad.push(line);
    }
    r['lsLa'] = { code: ls.code, ...summarise(lsNames), bad: lsBad.slice(0, 10) };
    // delete every other entry; listing must follow
    for (let i = 0; i < N; i += 2) {
      const name = expectedNames[i]!;
      fs.unlinkSync(join(dir, name));
      expected.delete(name);
    }
    const after = fs.readdirSync(dir).sort();
    r['afterDelete'] = { count: after.length, same: JSON.stringify(after) === JSON.stringify([...expected.keys()].sort()) };
    r['dirNlink'] = fs.statSync(dir).nlink;
    return r;
  },

  // -- symlinks -----------------------------------------------------------------
  symlinks: async (root) => {
    const r: Rec = {};
    const L = (n: string): string => join(root, n);
    fs.writeFileSync(L('target'), 'payload');
    fs.mkdirSync(L('dir'));
    r['symlink'] = attempt(() => fs.symlinkSync('target', L('link')));
    r['readlink'] = attempt(() => fs.readlinkSync(L('link')));
    r['lstat'] = lstatOf(L('link'));
    r['stat'] = statOf(L('link'));
    r['readThrough'] = readText(L('link'));
    fs.writeFileSync(L('link'), 'rewritten');
    r['writeThrough'] = [readText(L('target')), lstatOf(L('link'))];
    r['dangling'] = attempt(() => fs.symlinkSync('does/not/exist', L('dangling')));
    r['danglingStat'] = statOf(L('dangling'));
    r['danglingLstat'] = lstatOf(L('dangling'));
    r['danglingReadlink'] = attempt(() => fs.readlinkSync(L('dangling')));
    r['readlinkFile'] = attempt(() => fs.readlinkSync(L('target')));
    r['readlinkDir'] = attempt(() => fs.readlinkSync(L('dir')));
    r['readlinkMissing'] = attempt(() => fs.readlinkSync(L('missing')));
    r['symlinkExisting'] = attempt(() => fs.symlinkSync('x', L('target')));
    r['symlinkEmptyTarget'] = attempt(() => fs.symlinkSync('', L('empty')));
    r['relativeUp'] = attempt(() => {
      fs.symlinkSync('../target', join(root, 'dir', 'up'));
      return fs.readFileSync(join(root, 'dir', 'up'), 'utf8');
    });
    r['dirLink'] = attempt(() => {
      fs.symlinkSync('dir', L('dirlink'));
      fs.writeFileSync(join(root, 'dirlink', 'inside'), 'i');
      return [statOf(L('dirlink')), lstatOf(L('dirlink')), sortedDir(L('dir'))];
    });
    const long = 'a/'.repeat(1999) + 'b'; // 3999 bytes
    r['longTarget'] = attempt(() => {
      fs.symlinkSync(long, L('long'));
      const back = fs.readlinkSync(L('long'));
      return [back.length, back === long, lstatOf(L('long'))];
    });
    r['tooLongTarget'] = attempt(() => fs.symlinkSync('c'.repeat(4096), L('toolong')));
    r['target4095'] = attempt(() => {
      fs.symlinkSync('d/'.repeat(2047) + 'e', L('t4095'));
      return fs.readlinkSync(L('t4095')).length;
    });
    fs.symlinkSync('loop2', L('loop1'));
    fs.symlinkSync('loop1', L('loop2'));
    r['loopStat'] = statOf(L('loop1'));
    r['loopOpen'] = attempt(() => fs.openSync(L('loop1'), 'r'));
    r['noFollowOpen'] = attempt(() => fs.openSync(L('link'), C.O_RDONLY | C.O_NOFOLLOW));
    r['lchown'] = attempt(() => {
      fs.lchownSync(L('link'), 1234, 5678);
      return [lstatOf(L('link')), statOf(L('target'))];
    });
    r['unlinkLink'] = [attempt(() => fs.unlinkSync(L('link'))), lstatOf(L('link')), statOf(L('target'))];
    r['listing'] = sortedDir(root);
    return r;
  },

  // -- hard links -------------------------------------------------------------
  hardlinks: async (root) => {
    const r: Rec = {};
    const L = (n: string): string => join(root, n);
    fs.writeFileSync(L('a'), 'shared');
    r['link'] = attempt(() => fs.linkSync(L('a'), L('b')));
    r['statA'] = statOf(L('a'));
    r['statB'] = statOf(L('b'));
    r['sameIno'] = ino(L('a')) === ino(L('b'));
    fs.appendFileSync(L('a'), '+more');
    r['writeVisibleViaOther'] = readText(L('b'));
    r['rootNlink'] = fs.statSync(root).nlink;
    r['linkMissing'] = attempt(() => fs.linkSync(L('missing'), L('c')));
    r['linkExisting'] = attempt(() => fs.linkSync(L('a'), L('b')));
    fs.mkdirSync(L('d'));
    r['linkDir'] = attempt(() => fs.linkSync(L('d'), L('d2')));
    r['linkIntoMissingDir'] = attempt(() => fs.linkSync(L('a'), join(root, 'nope', 'x')));
    r['linkIntoSubdir'] = attempt(() => fs.linkSync(L('a'), join(root, 'd', 'c')));
    r['nlinkThree'] = [statOf(L('a')), statOf(join(root, 'd', 'c'))];
    r['unlinkSub'] = attempt(() => fs.unlinkSync(join(root, 'd', 'c')));
    r['nlinkAfterUnlinkSub'] = [statOf(L('a')), statOf(L('b'))];
    // rename(a, b) where both name the same inode: a no-op, both names stay
    r['renameSameInode'] = attempt(() => fs.renameSync(L('a'), L('b')));
    r['afterRenameSameInode'] = [sortedDir(root), statOf(L('a')), statOf(L('b'))];
    // rename one link over an unrelated file
    fs.writeFileSync(L('other'), 'other');
    const ofd = fs.openSync(L('other'), 'r');
    r['renameOverOther'] = attempt(() => fs.renameSync(L('a'), L('other')));
    r['replacedStillOpen'] = [fstatOf(ofd), preadHex(ofd, 10, 0)];
    fs.closeSync(ofd);
    r['afterRenameOver'] = [sortedDir(root), statOf(L('other')), statOf(L('b')), ino(L('other')) === ino(L('b')), readText(L('other'))];
    r['unlinkOne'] = attempt(() => fs.unlinkSync(L('other')));
    r['nlinkBackToOne'] = [statOf(L('b')), readText(L('b'))];
    // link of a symlink links the symlink itself (linkat without AT_SYMLINK_FOLLOW)
    fs.symlinkSync('b', L('sym'));
    r['linkSymlink'] = attempt(() => fs.linkSync(L('sym'), L('sym2')));
    r['linkSymlinkResult'] = [lstatOf(L('sym2')), lstatOf(L('sym')), ino(L('sym')) === ino(L('sym2')), statOf(L('b'))];
    // many links
    for (let i = 0; i < 50; i++) fs.linkSync(L('b'), L(`many${i}`));
    r['fiftyLinks'] = statOf(L('b'));
    for (let i = 0; i < 50; i++) fs.unlinkSync(L(`many${i}`));
    r['afterFifty'] = statOf(L('b'));
    return r;
  },

  // -- rename -------------------------------------------------------------------
  rename: async (root) => {
    const r: Rec = {};
    const L = (...n: string[]): string => join(root, ...n);
    fs.writeFileSync(L('f1'), 'one');
    fs.writeFileSync(L('f2'), 'two');
    r['fileOverFile'] = attempt(() => fs.renameSync(L('f1'), L('f2')));
    r['afterFileOverFile'] = [sortedDir(root), readText(L('f2'))];
    fs.mkdirSync(L('emptydir'));
    r['fileOverEmptyDir'] = attempt(() => fs.renameSync(L('f2'), L('emptydir')));
    fs.mkdirSync(L('d1'));
    fs.writeFileSync(L('d1', 'x'), 'x');
    r['dirOverFile'] = attempt(() => fs.renameSync(L('d1'), L('f2')));
    fs.mkdirSync(L('full'));
    fs.writeFileSync(L('full', 'y'), 'y');
    r['dirOverNonEmptyDir'] = attempt(() => fs.renameSync(L('d1'), L('full')));
    fs.mkdirSync(L('d1', 'sub'));
    r['dirIntoOwnSubdir'] = attempt(() => fs.renameSync(L('d1'), L('d1', 'sub', 'moved')));
    r['dirIntoItself'] = attempt(() => fs.renameSync(L('d1'), L('d1', 'moved')));
    r['renameToItself'] = attempt(() => fs.renameSync(L('f2'), L('f2')));
    r['dirToItself'] = attempt(() => fs.renameSync(L('d1'), L('d1')));
    r['afterSelf'] = [readText(L('f2')), sortedDir(L('d1'))];
    r['dirOverEmptyDir'] = attempt(() => fs.renameSync(L('d1'), L('emptydir')));
    r['afterDirOverEmpty'] = [sortedDir(root), sortedDir(L('emptydir')), statOf(L('emptydir'))];
    r['missingSource'] = attempt(() => fs.renameSync(L('missing'), L('z')));
    r['intoMissingDir'] = attempt(() => fs.renameSync(L('f2'), L('nope', 'z')));
    r['fileTrailingSlash'] = attempt(() => fs.renameSync(L('f2') + '/', L('z')));
    r['toFileTrailingSlash'] = attempt(() => fs.renameSync(L('f2'), L('z') + '/'));
    r['underFile'] = attempt(() => fs.renameSync(L('f2'), L('f2', 'x')));
    // across directories, with parent nlink and '..' bookkeeping
    fs.mkdirSync(L('A'));
    fs.mkdirSync(L('B'));
    fs.mkdirSync(L('A', 'child'));
    fs.writeFileSync(L('A', 'child', 'c'), 'c');
    const nl = (): number[] => [fs.statSync(L('A')).nlink, fs.statSync(L('B')).nlink];
    r['nlinkBefore'] = nl();
    r['dirAcross'] = attempt(() => fs.renameSync(L('A', 'child'), L('B', 'child2')));
    r['nlinkAfter'] = nl();
    r['dotdotFollows'] = ino(L('B', 'child2', '..')) === ino(L('B'));
    r['movedContent'] = [sortedDir(L('A')), sortedDir(L('B')), readText(L('B', 'child2', 'c'))];
    r['fileAcross'] = attempt(() => fs.renameSync(L('f2'), L('A', 'f2moved')));
    r['afterFileAcross'] = [sortedDir(root), readText(L('A', 'f2moved'))];
    // open fd survives rename
    const fd = fs.openSync(L('A', 'f2moved'), 'r+');
    fs.renameSync(L('A', 'f2moved'), L('B', 'again'));
    fs.writeSync(fd, 'TWO', 0);
    fs.closeSync(fd);
    r['openAcrossRename'] = readText(L('B', 'again'));
    // rename over a symlink replaces the link, not its target
    fs.writeFileSync(L('t'), 'target');
    fs.symlinkSync('t', L('sl'));
    fs.writeFileSync(L('src'), 'src');
    r['overSymlink'] = attempt(() => fs.renameSync(L('src'), L('sl')));
    r['afterOverSymlink'] = [lstatOf(L('sl')), readText(L('t')), readText(L('sl'))];
    // renaming a symlink moves the link
    fs.symlinkSync('t', L('sl2'));
    r['renameSymlink'] = attempt(() => fs.renameSync(L('sl2'), L('B', 'sl3')));
    r['afterRenameSymlink'] = [lstatOf(L('B', 'sl3')), attempt(() => fs.readlinkSync(L('B', 'sl3'))), statOf(L('B', 'sl3'))];
    // a renamed directory's contents are reachable under the new name only
    fs.mkdirSync(L('tree', 'a', 'b'), { recursive: true });
    fs.writeFileSync(L('tree', 'a', 'b', 'leaf'), 'leaf');
    fs.renameSync(L('tree'), L('tree2'));
    r['treeRenamed'] = [statOf(L('tree', 'a')), readText(L('tree2', 'a', 'b', 'leaf')), statOf(L('tree2', 'a', 'b'))];
    // swap-by-rename chain (rename a->tmp, b->a, tmp->b)
    fs.writeFileSync(L('p'), 'P');
    fs.writeFileSync(L('q'), 'Q');
    fs.renameSync(L('p'), L('tmp'));
    fs.renameSync(L('q'), L('p'));
    fs.renameSync(L('tmp'), L('q'));
    r['swapChain'] = [readText(L('p')), readText(L('q'))];
    r['finalRoot'] = sortedDir(root);
    r['rootNlink'] = fs.statSync(root).nlink;
    return r;
  },

  renameat2: async (root) => {
    fs.writeFileSync(join(root, 'a'), 'AAA');
    fs.writeFileSync(join(root, 'b'), 'BB');
    fs.mkdirSync(join(root, 'd'));
    fs.writeFileSync(join(root, 'd', 'inner'), 'i');
    fs.mkdirSync(join(root, 'x'));
    fs.mkdirSync(join(root, 'x', 'y'));
    fs.mkdirSync(join(root, 'p'));
    return py(
      root,
      dedent(`
      NOREPLACE, EXCHANGE, WHITEOUT = 1, 2, 4
      libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
      def r2(a, b, fl):
          return cres(libc.renameat2(AT_FDCWD, bpath(a), AT_FDCWD, bpath(b), fl))
      def rd(p):
          try:
              return open(p).read()
          except OSError as e:
              return {'error': ecode(e.errno)}
      def kind(p):
          try:
              m = os.lstat(p).st_mode
              return 'dir' if (m & 0o170000) == 0o040000 else 'file'
          except OSError as e:
              return {'error': ecode(e.errno)}
      R = {}
      R['noreplaceExisting'] = r2('a', 'b', NOREPLACE)
      R['afterNoreplaceExisting'] = [rd('a'), rd('b')]
      R['noreplaceNew'] = r2('a', 'c', NOREPLACE)
      R['afterNoreplaceNew'] = [kind('a'), rd('c')]
      R['noreplaceOverDir'] = r2('c', 'd', NOREPLACE)
      R['exchangeFiles'] = r2('c', 'b', EXCHANGE)
      R['afterExchange'] = [rd('b'), rd('c')]
      R['exchangeFileDir'] = r2('b', 'd', EXCHANGE)
      R['afterExchangeFileDir'] = [kind('b'), kind('d'), rd('d'), sorted(os.listdir('b'))]
      R['exchangeMissing'] = r2('c', 'missing', EXCHANGE)
      R['exchangeMissingSrc'] = r2('missing', 'c', EXCHANGE)
      R['exchangeSelf'] = r2('c', 'c', EXCHANGE)
      R['bothFlags'] = r2('c', 'd', EXCHANGE | NOREPLACE)
      R['badFlag'] = r2('c', 'd', 8)
      nl = lambda: [os.stat('x').st_nlink, os.stat('p').st_nlink]
      os.mkdir('p/q')
      R['nlinkBefore'] = nl()
      R['exchangeDirsAcross'] = r2('x/y', 'p/q', EXCHANGE)
      R['nlinkAfter'] = nl()
      os.mkdir('p/q/deep')
      R['exchangeAncestor'] = r2('p', 'p/q/deep', EXCHANGE)
      R['listing'] = sorted(os.listdir('.'))
      `),
    );
  },

  'renameat2-whiteout': async (root) => {
    fs.writeFileSync(join(root, 'a'), 'A');
    return py(
      root,
      dedent(`
      libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
      R = {'whiteout': cres(libc.renameat2(AT_FDCWD, b'a', AT_FDCWD, b'b', 4))}
      def st(p):
          try:
              s = os.lstat(p)
              return [oct(s.st_mode), os.major(s.st_rdev), os.minor(s.st_rdev), s.st_size]
          except OSError as e:
              return {'error': ecode(e.errno)}
      R['a'] = st('a')
      R['b'] = st('b')
      R['listing'] = sorted(os.listdir('.'))
      `),
    );
  },

  // -- special files ------------------------------------------------------------
  mknod: async (root) => {
    const r: Rec = {};
    r['mkfifo'] = await tool(root, 'mkfifo', ['-m', '0640', 'fifo']);
    r['fifo'] = lstatOf(join(root, 'fifo'));
    r['mknodChar'] = await tool(root, 'mknod', ['-m', '0600', 'null', 'c', '1', '3']);
    r['char'] = lstatOf(join(root, 'null'));
    r['mknodBlock'] = await tool(root, 'mknod', ['blk', 'b', '7', '200']);
    r['block'] = lstatOf(join(root, 'blk'));
    r['mknodBigMinor'] = await tool(root, 'mknod', ['big', 'c', '300', '70000']);
    r['bigRdev'] = lstatOf(join(root, 'big'));
    r['mkfifoExisting'] = await tool(root, 'mkfifo', ['fifo']);
    r['py'] = await py(
      root,
      dedent(`
      import stat, socket
      R = {}
      R['reg'] = attempt(os.mknod, 'reg', stat.S_IFREG | 0o640)
      R['regStat'] = oct(os.lstat('reg').st_mode)
      R['sock'] = attempt(os.mknod, 'sock', stat.S_IFSOCK | 0o644)
      R['sockStat'] = oct(os.lstat('sock').st_mode)
      R['existing'] = attempt(os.mknod, 'reg', stat.S_IFREG | 0o640)
      # FIFO I/O is served by the kernel pipe code
      rfd = os.open('fifo', os.O_RDONLY | os.O_NONBLOCK)
      wfd = os.open('fifo', os.O_WRONLY | os.O_NONBLOCK)
      os.write(wfd, b'through the pipe')
      R['fifoData'] = os.read(rfd, 100).decode()
      R['fifoEmpty'] = attempt(os.read, rfd, 10)
      os.close(wfd); os.close(rfd)
      R['fifoWriteNoReader'] = attempt(os.open, 'fifo', os.O_WRONLY | os.O_NONBLOCK)
      # a unix socket bound in the directory works end to end
      srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      srv.bind('usock')
      srv.listen(1)
      cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      cli.connect('usock')
      conn, _ = srv.accept()
      cli.sendall(b'ping')
      R['socketData'] = conn.recv(10).decode()
      R['usockType'] = oct(os.lstat('usock').st_mode & 0o170000)
      conn.close(); cli.close(); srv.close()
      R['unlinkSock'] = attempt(os.unlink, 'usock')
      `),
    );
    r['listing'] = sortedDir(root);
    r['types'] = fs
      .readdirSync(root, { withFileTypes: true })
      .map((e) => [e.name, e.isFIFO(), e.isCharacterDevice(), e.isBlockDevice(), e.isSocket(), e.isFile()])
      .sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1));
    r['unlinkDevice'] = attempt(() => fs.unlinkSync(join(root, 'null')));
    return r;
  },

  // -- attributes -----------------------------------------------------------------
  'chmod-chown': async (root) => {
    const r: Rec = {};
    const p = join(root, 'f');
    fs.writeFileSync(p, 'data');
    fs.mkdirSync(join(root, 'd'));
    for (const m of [0o640, 0o000, 0o4755, 0o2755, 0o1644, 0o7777]) {
      fs.chmodSync(p, m);
      r[`chmod${m.toString(8)}`] = statOf(p);
    }
    fs.chmodSync(join(root, 'd'), 0o1777);
    r['chmodDirSticky'] = statOf(join(root, 'd'));
    fs.chmodSync(join(root, 'd'), 0o2750);
    r['chmodDirSgid'] = statOf(join(root, 'd'));
    r['chmodMissing'] = attempt(() => fs.chmodSync(join(root, 'missing'), 0o644));
    fs.chmodSync(p, 0o644);
    r['chown'] = [attempt(() => fs.chownSync(p, 1234, 5678)), statOf(p)];
    r['chownUidOnly'] = [attempt(() => fs.chownSync(p, 4321, -1)), statOf(p)];
    r['chownGidOnly'] = [attempt(() => fs.chownSync(p, -1, 8765)), statOf(p)];
    r['chownNoop'] = [attempt(() => fs.chownSync(p, -1, -1)), statOf(p)];
    r['chownBigIds'] = [attempt(() => fs.chownSync(p, 4000000000, 4000000001)), statOf(p)];
    fs.chownSync(p, 0, 0);
    const fd = fs.openSync(p, 'r');
    r['fchmod'] = [attempt(() => fs.fchmodSync(fd, 0o600)), fstatOf(fd)];
    r['fchown'] = [attempt(() => fs.fchownSync(fd, 42, 43)), fstatOf(fd), statOf(p)];
    fs.closeSync(fd);
    fs.symlinkSync('f', join(root, 'l'));
    r['chmodViaSymlink'] = [attempt(() => fs.chmodSync(join(root, 'l'), 0o606)), statOf(p), lstatOf(join(root, 'l'))];
    r['chownViaSymlink'] = [attempt(() => fs.chownSync(join(root, 'l'), 7, 8)), statOf(p), lstatOf(join(root, 'l'))];
    // chown clears set-user-ID (and set-group-ID with group-exec) even for root
    fs.chmodSync(p, 0o6755);
    r['chownClearsSuid'] = [attempt(() => fs.chownSync(p, 1000, 1000)), statOf(p)];
    fs.chmodSync(p, 0o2745);
    r['chownKeepsSgidWithoutGroupExec'] = [attempt(() => fs.chownSync(p, 1001, 1001)), statOf(p)];
    // writes by root (CAP_FSETID) keep the set-id bits
    fs.chmodSync(p, 0o6755);
    fs.appendFileSync(p, 'more');
    r['rootWriteKeepsSuid'] = statOf(p);
    fs.truncateSync(p, 1);
    r['rootTruncateKeepsSuid'] = statOf(p);
    fs.chownSync(join(root, 'd'), 99, 98);
    r['chownDirKeepsSgid'] = statOf(join(root, 'd'));
    return r;
  },

  'setgid-dir': async (root) => {
    const r: Rec = {};
    const d = join(root, 'sg');
    fs.mkdirSync(d);
    fs.chownSync(d, 0, 1234);
    fs.chmodSync(d, 0o2775);
    r['dir'] = statOf(d);
    fs.writeFileSync(join(d, 'file'), 'x');
    r['file'] = statOf(join(d, 'file'));
    fs.mkdirSync(join(d, 'sub'));
    r['subdir'] = statOf(join(d, 'sub'));
    fs.writeFileSync(join(d, 'sub', 'deeper'), '');
    r['deeper'] = statOf(join(d, 'sub', 'deeper'));
    fs.symlinkSync('file', join(d, 'link'));
    r['symlink'] = lstatOf(join(d, 'link'));
    await run('mkfifo', [join(d, 'fifo')]);
    r['fifo'] = lstatOf(join(d, 'fifo'));
    r['pyTmpfile'] = await py(
      d,
      dedent(`
      fd = attempt(os.open, '.', os.O_TMPFILE | os.O_RDWR, 0o644)
      if isinstance(fd, int):
          R = [flink(fd, 'tmp'), os.stat('tmp').st_gid, oct(os.stat('tmp').st_mode)]
      else:
          R = fd
      `),
    );
    // the hard link keeps its own gid
    fs.writeFileSync(join(root, 'outside'), '');
    fs.linkSync(join(root, 'outside'), join(d, 'hl'));
    r['hardlink'] = statOf(join(d, 'hl'));
    // rename into the setgid dir keeps the original gid
    fs.writeFileSync(join(root, 'mv'), '');
    fs.renameSync(join(root, 'mv'), join(d, 'mv'));
    r['renamed'] = statOf(join(d, 'mv'));
    return r;
  },

  utimes: async (root) => {
    const r: Rec = {};
    const p = join(root, 'f');
    fs.writeFileSync(p, 'x');
    r['touch'] = await tool(root, 'touch', ['-d', '2001-02-03 04:05:06.123456789', 'f']);
    r['touchNs'] = timesNs(p);
    r['statY'] = (await run('stat', ['-c', '%y|%x', 'f'], { cwd: root })).stdout.trim();
    r['touchMtimeOnly'] = await tool(root, 'touch', ['-m', '-d', '2010-01-01 00:00:00.000000001', 'f']);
    r['afterTouchM'] = timesNs(p);
    r['nodeUtimes'] = [attempt(() => fs.utimesSync(p, 1234567890.5, 1234567891.25)), timesNs(p)];
    const fd = fs.openSync(p, 'r+');
    r['futimes'] = [attempt(() => fs.futimesSync(fd, 1000000000, 1100000000.75)), timesNs(p)];
    fs.closeSync(fd);
    fs.symlinkSync('f', join(root, 'l'));
    r['lutimes'] = [attempt(() => fs.lutimesSync(join(root, 'l'), 1500000000, 1500000001)), timesNs(join(root, 'l'), false), timesNs(p)];
    r['py'] = await py(
      root,
      dedent(`
      class TS(ctypes.Structure):
          _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]
      UTIME_NOW = (1 << 30) - 1
      UTIME_OMIT = (1 << 30) - 2
      def uts(p, a, m, flags=0):
          arr = (TS * 2)(TS(*a), TS(*m))
          return cres(libc.utimensat(AT_FDCWD, bpath(p), arr, flags))
      def ns(p, follow=True):
          s = os.stat(p, follow_symlinks=follow)
          return [str(s.st_atime_ns), str(s.st_mtime_ns)]
      def recent(t):
          return abs(int(t) / 1e9 - time.time()) < 30
      R = {}
      R['explicit'] = [attempt(os.utime, 'f', ns=(1000000000111111111, 1200000000222222222)), ns('f')]
      R['omitAtime'] = [uts('f', (0, UTIME_OMIT), (1300000000, 333)), ns('f')]
      R['omitMtime'] = [uts('f', (1400000000, 444), (0, UTIME_OMIT)), ns('f')]
      R['omitBoth'] = [uts('f', (0, UTIME_OMIT), (0, UTIME_OMIT)), ns('f')]
      a = uts('f', (0, UTIME_NOW), (0, UTIME_OMIT))
      t = ns('f')
      R['nowAtime'] = [a, recent(t[0]), t[1]]
      a = uts('f', (0, UTIME_OMIT), (0, UTIME_NOW))
      t = ns('f')
      R['nowMtime'] = [a, recent(t[0]), recent(t[1])]
      os.utime('f', ns=(5, 6))
      R['nullTimes'] = [cres(libc.utimensat(AT_FDCWD, b'f', None, 0)), [recent(x) for x in ns('f')]]
      R['negative'] = [attempt(os.utime, 'f', ns=(-1000000000 + 5, -2000000000 + 7)), ns('f')]
      R['future'] = [attempt(os.utime, 'f', ns=(9000000000123456789, 8888888888123456789)), ns('f')]
      R['badNsec'] = uts('f', (1, 1000000000), (1, 0))
      R['symlinkNoFollow'] = [attempt(os.utime, 'l', ns=(1600000000000000001, 1600000000000000002), follow_symlinks=False), ns('l', False), ns('f')]
      R['symlinkNowNoFollow'] = [uts('l', (0, UTIME_OMIT), (0, UTIME_NOW), 0x100), recent(ns('l', False)[1])]
      fd = os.open('f', os.O_RDONLY)
      R['futimens'] = [attempt(os.utime, fd, ns=(1700000000000000003, 1700000000000000004)), ns('f')]
      os.close(fd)
      R['missing'] = attempt(os.utime, 'missing', ns=(1, 1))
      os.mkdir('d')
      R['dir'] = [attempt(os.utime, 'd', ns=(1800000000000000005, 1800000000000000006)), ns('d')]
      # data changes move mtime forward
      os.utime('f', ns=(1000000000000000000, 1000000000000000000))
      with open('f', 'a') as fh:
          fh.write('more')
      R['mtimeAfterWrite'] = recent(ns('f')[1])
      os.utime('f', ns=(1000000000000000000, 1000000000000000000))
      os.truncate('f', 1)
      R['mtimeAfterTruncate'] = recent(ns('f')[1])
      os.utime('f', ns=(1000000000000000000, 1000000000000000000))
      os.chmod('f', 0o600)
      R['chmodKeepsMtime'] = ns('f')[1]
      os.utime('d', ns=(1000000000000000000, 1000000000000000000))
      open('d/new', 'w').close()
      R['dirMtimeAfterCreate'] = recent(ns('d')[1])
      os.utime('d', ns=(1000000000000000000, 1000000000000000000))
      os.unlink('d/new')
      R['dirMtimeAfterUnlink'] = recent(ns('d')[1])
      `),
    );
    return r;
  },

  xattrs: async (root) =>
    py(
      root,
      dedent(`
      open('f', 'w').close()
      os.mkdir('d')
      os.symlink('f', 'l')
      def get(p, n, **k):
          r = attempt(os.getxattr, p, n, **k)
          return r.hex() if isinstance(r, bytes) else r
      def lst(p, **k):
          r = attempt(os.listxattr, p, **k)
          return sorted(r) if isinstance(r, list) else r
      R = {}
      R['listEmpty'] = lst('f')
      R['set'] = attempt(os.setxattr, 'f', 'user.x', b'hello')
      R['get'] = get('f', 'user.x')
      R['list'] = lst('f')
      R['getMissing'] = get('f', 'user.nope')
      R['createExisting'] = attempt(os.setxattr, 'f', 'user.x', b'v', os.XATTR_CREATE)
      R['replaceMissing'] = attempt(os.setxattr, 'f', 'user.y', b'v', os.XATTR_REPLACE)
      R['createNew'] = attempt(os.setxattr, 'f', 'user.y', b'yy', os.XATTR_CREATE)
      R['replaceExisting'] = attempt(os.setxattr, 'f', 'user.y', b'YYY', os.XATTR_REPLACE)
      R['getReplaced'] = get('f', 'user.y')
      R['binary'] = [attempt(os.setxattr, 'f', 'user.bin', bytes([0, 1, 255, 0])), get('f', 'user.bin')]
      R['emptyValue'] = [attempt(os.setxattr, 'f', 'user.empty', b''), get('f', 'user.empty')]
      big = bytes((i * 31) & 0xff for i in range(4000))
      open('bx', 'w').close()
      R['big'] = [attempt(os.setxattr, 'bx', 'user.big', big), get('bx', 'user.big') == big.hex(), lst('bx')]
      R['tooBig'] = attempt(os.setxattr, 'bx', 'user.huge', b'z' * 65537)
      R['nameTooLong'] = attempt(os.setxattr, 'f', 'user.' + 'a' * 251, b'v')
      R['badNamespace'] = attempt(os.setxattr, 'f', 'bogus.x', b'v')
      R['noNamespace'] = attempt(os.setxattr, 'f', 'plain', b'v')
      libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
      libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
      R['sizeQuery'] = cres(libc.getxattr(b'f', b'user.x', None, 0))
      small = ctypes.create_string_buffer(2)
      R['erange'] = cres(libc.getxattr(b'f', b'user.x', small, 2))
      exact = ctypes.create_string_buffer(5)
      R['exactSize'] = [cres(libc.getxattr(b'f', b'user.x', exact, 5)), exact.raw.hex()]
      R['missingSizeQuery'] = cres(libc.getxattr(b'f', b'user.nope', None, 0))
      n = libc.listxattr(b'f', None, 0)
      R['listSizeQuery'] = cres(n)
      R['listErange'] = cres(libc.listxattr(b'f', small, 2))
      lb = ctypes.create_string_buffer(max(n, 1))
      m = libc.listxattr(b'f', lb, n)
      R['listRaw'] = sorted(x.decode() for x in lb.raw[:m].split(b'\\0') if x)
      R['remove'] = attempt(os.removexattr, 'f', 'user.x')
      R['afterRemove'] = [get('f', 'user.x'), lst('f')]
      R['removeMissing'] = attempt(os.removexattr, 'f', 'user.x')
      R['dir'] = [attempt(os.setxattr, 'd', 'user.d', b'dir'), get('d', 'user.d'), lst('d')]
      R['symlinkNoFollow'] = attempt(os.setxattr, 'l', 'user.s', b'v', follow_symlinks=False)
      R['symlinkGetNoFollow'] = get('l', 'user.y', follow_symlinks=False)
      R['symlinkListNoFollow'] = lst('l', follow_symlinks=False)
      R['symlinkFollow'] = [attempt(os.setxattr, 'l', 'user.via', b'link'), get('f', 'user.via')]
      R['trusted'] = [attempt(os.setxattr, 'f', 'trusted.t', b'root'), get('f', 'trusted.t'), 'trusted.t' in lst('f')]
      fd = os.open('f', os.O_RDONLY)
      R['fd'] = [attempt(os.setxattr, fd, 'user.fd', b'1'), get(fd, 'user.fd'), lst(fd)]
      R['fdRemove'] = attempt(os.removexattr, fd, 'user.fd')
      os.close(fd)
      R['missingFile'] = [attempt(os.setxattr, 'missing', 'user.x', b'v'), get('missing', 'user.x'), lst('missing')]
      # xattrs follow the inode through rename and hard link
      os.rename('f', 'g')
      os.link('g', 'h')
      R['afterRename'] = [get('g', 'user.y'), get('h', 'user.y')]
      for i in range(50):
          os.setxattr('g', 'user.k%03d' % i, b'v%d' % i)
      R['fifty'] = [len([x for x in os.listxattr('g') if x.startswith('user.k')]), get('g', 'user.k049')]
      `),
    ),

  // -- unlink while open ------------------------------------------------------------
  'unlink-open-file': async (root) => {
    const r: Rec = {};
    const p = join(root, 'f');
    fs.writeFileSync(p, 'still here');
    const fd = fs.openSync(p, 'r+');
    const fd2 = fs.openSync(p, 'r');
    r['unlink'] = attempt(() => fs.unlinkSync(p));
    r['fstat'] = fstatOf(fd);
    r['stat'] = statOf(p);
    r['listing'] = sortedDir(root);
    r['read'] = preadHex(fd, 20, 0);
    r['write'] = fs.writeSync(fd, ' and more', 10);
    r['fstatAfterWrite'] = fstatOf(fd);
    r['readOtherFd'] = preadHex(fd2, 30, 0);
    r['ftruncate'] = attempt(() => fs.ftruncateSync(fd, 5));
    r['fchmod'] = attempt(() => fs.fchmodSync(fd, 0o600));
    r['fstatEnd'] = fstatOf(fd2);
    r['readEnd'] = preadHex(fd2, 30, 0);
    r['futimes'] = attempt(() => fs.futimesSync(fd, 1, 2));
    r['fsync'] = attempt(() => fs.fsyncSync(fd));
    // same name recreated while the old inode is open: distinct files
    fs.writeFileSync(p, 'new file');
    r['recreated'] = [readText(p), preadHex(fd, 30, 0), statOf(p), fstatOf(fd)];
    fs.closeSync(fd);
    fs.closeSync(fd2);
    // rmdir of a directory that still has an open handle
    fs.mkdirSync(join(root, 'd'));
    const dfd = fs.openSync(join(root, 'd'), 'r');
    r['rmdirOpen'] = attempt(() => fs.rmdirSync(join(root, 'd')));
    r['fstatRemovedDir'] = fstatOf(dfd);
    fs.closeSync(dfd);
    r['py'] = await py(
      root,
      dedent(`
      os.mkdir('d2')
      dfd = os.open('d2', os.O_RDONLY | os.O_DIRECTORY)
      os.rmdir('d2')
      R = {'createInRemoved': attempt(os.open, 'x', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=dfd),
           'listRemoved': attempt(os.listdir, dfd),
           'nlink': attempt(lambda: os.fstat(dfd).st_nlink)}
      `),
    );
    return r;
  },

  'mmap-shared': async (root) =>
    py(
      root,
      dedent(`
      fd = os.open('m', os.O_RDWR | os.O_CREAT, 0o644)
      os.ftruncate(fd, 16384)
      mm = mmap.mmap(fd, 16384, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
      mm[0:5] = b'hello'
      mm[4094:4100] = b'across'
      mm[16383:16384] = b'Z'
      mm.flush()
      os.pwrite(fd, b'WRITE', 100)
      R = {'coherentRead': mm[100:105].decode()}
      mm.close()
      os.close(fd)
      data = open('m', 'rb').read()
      R['size'] = len(data)
      R['head'] = data[:8].hex()
      R['across'] = data[4092:4102].hex()
      R['tail'] = data[16380:].hex()
      R['write'] = data[98:108].hex()
      # without explicit msync: munmap then read
      fd = os.open('m', os.O_RDWR)
      mm = mmap.mmap(fd, 16384, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
      mm[8000:8003] = b'abc'
      mm.close()
      os.close(fd)
      R['noMsync'] = open('m', 'rb').read()[7998:8005].hex()
      # another process sees the data
      out = subprocess.run([sys.executable, '-c', "print(open('m','rb').read()[0:5].decode())"], capture_output=True, text=True)
      R['otherProcess'] = out.stdout.strip()
      # MAP_PRIVATE writes stay private
      fd = os.open('m', os.O_RDWR)
      mp = mmap.mmap(fd, 4096, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE)
      mp[0:5] = b'PRIVT'
      R['private'] = [mp[0:5].decode(), os.pread(fd, 5, 0).decode()]
      mp.close()
      # shared writable mapping of a read-only fd is refused
      ro = os.open('m', os.O_RDONLY)
      try:
          mmap.mmap(ro, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
          R['sharedWritableOnRdonly'] = 'ok'
      except OSError as e:
          R['sharedWritableOnRdonly'] = {'error': ecode(e.errno)}
      os.close(ro)
      # data written with write() is visible through an existing mapping
      mr = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
      os.pwrite(fd, b'later', 200)
      R['mappedSeesWrite'] = mr[200:205].decode()
      mr.close()
      os.close(fd)
      `),
    ),

  // -- filesystem-wide ------------------------------------------------------------------
  statfs: async (root) => {
    const r: Rec = {};
    r['py'] = await py(
      root,
      dedent(`
      s = os.statvfs('.')
      fd = os.open('.', os.O_RDONLY)
      f = os.fstatvfs(fd)
      R = {'namemax': s.f_namemax, 'bsizePositive': s.f_bsize > 0, 'frsizePositive': s.f_frsize > 0,
           'blocksPositive': s.f_blocks > 0, 'bfreeLeBlocks': s.f_bfree <= s.f_blocks, 'bavailLeBfree': s.f_bavail <= s.f_bfree,
           'filesPositive': s.f_files > 0, 'ffreeLeFiles': s.f_ffree <= s.f_files,
           'fstatvfsNamemax': f.f_namemax, 'fstatvfsBlocksPositive': f.f_blocks > 0,
           'missing': attempt(os.statvfs, 'missing')}
      `),
    );
    const s = fs.statfsSync(root);
    r['node'] = { blocksPositive: s.blocks > 0, bsizePositive: s.bsize > 0, bavailLeBfree: s.bavail <= s.bfree };
    const st = await run('stat', ['-f', '-c', '%l', '.'], { cwd: root });
    r['statF'] = st.stdout.trim();
    return r;
  },

  'name-limits': async (root) => {
    const r: Rec = {};
    const n255 = 'n'.repeat(255);
    const n256 = 'n'.repeat(256);
    r['create255'] = attempt(() => fs.writeFileSync(join(root, n255), '255'));
    r['stat255'] = statOf(join(root, n255));
    r['listed255'] = fs.readdirSync(root).includes(n255);
    r['mkdir255'] = attempt(() => fs.mkdirSync(join(root, 'd'.repeat(255))));
    r['inside255Dir'] = attempt(() => fs.writeFileSync(join(root, 'd'.repeat(255), 'e'.repeat(255)), 'x'));
    r['rename255'] = attempt(() => fs.renameSync(join(root, n255), join(root, 'm'.repeat(255))));
    r['read255'] = readText(join(root, 'm'.repeat(255)));
    r['symlink255'] = attempt(() => fs.symlinkSync('m'.repeat(255), join(root, 'l'.repeat(255))));
    r['readlink255'] = attempt(() => fs.readlinkSync(join(root, 'l'.repeat(255))).length);
    r['link255'] = attempt(() => fs.linkSync(join(root, 'm'.repeat(255)), join(root, 'h'.repeat(255))));
    r['create256'] = attempt(() => fs.writeFileSync(join(root, n256), 'x'));
    r['stat256'] = statOf(join(root, n256));
    r['mkdir256'] = attempt(() => fs.mkdirSync(join(root, n256)));
    r['symlink256'] = attempt(() => fs.symlinkSync('x', join(root, n256)));
    r['rename256'] = attempt(() => fs.renameSync(join(root, 'm'.repeat(255)), join(root, n256)));
    r['link256'] = attempt(() => fs.linkSync(join(root, 'm'.repeat(255)), join(root, n256)));
    r['unlink256'] = attempt(() => fs.unlinkSync(join(root, n256)));
    // multibyte: the limit is 255 bytes, not characters
    const e127 = 'é'.repeat(127) + 'x'; // 255 bytes
    const e128 = 'é'.repeat(128); // 256 bytes
    r['utf8_255'] = [attempt(() => fs.writeFileSync(join(root, e127), '')), fs.readdirSync(root).includes(e127)];
    r['utf8_256'] = attempt(() => fs.writeFileSync(join(root, e128), ''));
    r['unlink255'] = attempt(() => fs.unlinkSync(join(root, 'm'.repeat(255))));
    r['count'] = fs.readdirSync(root).length;
    return r;
  },

  'path-max': async (root) =>
    py(
      root,
      dedent(`
      comps = ['%03d' % i + 'p' * 192 for i in range(20)]
      base = ''
      for c in comps:
          base = c if not base else base + '/' + c
          os.mkdir(base)
      R = {'baseLen': len(base)}
      f4000 = base + '/' + 'a' * (4000 - len(base) - 1)
      f4095 = base + '/' + 'b' * (4095 - len(base) - 1)
      f4096 = base + '/' + 'c' * (4096 - len(base) - 1)
      R['lens'] = [len(f4000), len(f4095), len(f4096)]
      def mk(p):
          fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
          os.write(fd, b'deep')
          os.close(fd)
      R['create4000'] = attempt(mk, f4000)
      R['read4000'] = attempt(lambda: open(f4000, 'rb').read().decode())
      R['create4095'] = attempt(mk, f4095)
      R['stat4095'] = attempt(lambda: os.stat(f4095).st_size)
      R['create4096'] = attempt(mk, f4096)
      R['stat4096'] = attempt(os.stat, f4096)
      R['mkdir4096'] = attempt(os.mkdir, f4096)
      R['listDeep'] = sorted(x[:1] + str(len(x)) for x in os.listdir(base))
      R['renameDeep'] = attempt(os.rename, f4000, base + '/renamed')
      R['symlinkDeep'] = attempt(os.symlink, 'renamed', base + '/sl')
      R['readlinkDeep'] = attempt(os.readlink, base + '/sl')
      R['xattrDeep'] = [attempt(os.setxattr, f4095, 'user.deep', b'1'), attempt(lambda: os.getxattr(f4095, 'user.deep').decode())]
      # relative walk from a deep cwd is unaffected by the prefix length
      os.chdir(base)
      R['fromDeepCwd'] = attempt(lambda: open('renamed', 'rb').read().decode())
      os.chdir('/')
      `),
    ),

  'non-utf8-names': async (root) => {
    const r: Rec = {};
    const name = Buffer.from([0xff, 0xfe, ...Buffer.from('-latin1-'), 0xe9]);
    const name2 = Buffer.from([0x80, 0x81, 0x2d, 0xc3]);
    const P = (n: Buffer, ...more: Buffer[]): Buffer => Buffer.concat([Buffer.from(root + '/'), n, ...more.flatMap((m) => [Buffer.from('/'), m])]);
    r['create'] = attempt(() => fs.writeFileSync(P(name), 'bytes'));
    r['readdir'] = fs.readdirSync(root, { encoding: 'buffer' }).map(hex).sort();
    r['stat'] = statOf(P(name));
    r['read'] = readText(P(name));
    r['rename'] = attempt(() => fs.renameSync(P(name), P(name2)));
    r['readdirAfterRename'] = fs.readdirSync(root, { encoding: 'buffer' }).map(hex).sort();
    r['oldGone'] = statOf(P(name));
    r['mkdir'] = attempt(() => fs.mkdirSync(P(name)));
    r['inside'] = attempt(() => fs.writeFileSync(P(name, name2), 'nested'));
    r['readdirInside'] = attempt(() => fs.readdirSync(P(name), { encoding: 'buffer' }).map(hex));
    r['symlink'] = attempt(() => fs.symlinkSync(name2, P(Buffer.from('link'))));
    r['readlink'] = attempt(() => hex(fs.readlinkSync(P(Buffer.from('link')), { encoding: 'buffer' })));
    r['readThroughLink'] = readText(P(Buffer.from('link')));
    r['py'] = await py(root, `R = sorted(x.hex() for x in os.listdir(b'.'))`);
    r['unlink'] = attempt(() => fs.unlinkSync(P(name2)));
    r['unlinkInside'] = attempt(() => fs.unlinkSync(P(name, name2)));
    r['rmdir'] = attempt(() => fs.rmdirSync(P(name)));
    r['final'] = fs.readdirSync(root, { encoding: 'buffer' }).map(hex).sort();
    return r;
  },

  // -- locks ----------------------------------------------------------------------------
  flock: async (root) =>
    py(
      root,
      dedent(`
      fd = os.open('lk', os.O_RDWR | os.O_CREAT, 0o644)
      def other(mode):
          return subprocess.run(['flock', mode, '-n', '-E', '42', 'lk', 'true'], timeout=10).returncode
      R = {}
      R['lock'] = blocking(5, fcntl.flock, fd, fcntl.LOCK_EX)
      R['otherExclusive'] = other('-x')
      R['otherShared'] = other('-s')
      fd2 = os.open('lk', os.O_RDWR)
      R['sameProcessOtherOfd'] = attempt(fcntl.flock, fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
      fd3 = os.dup(fd)
      R['dupSharesLock'] = attempt(fcntl.flock, fd3, fcntl.LOCK_EX | fcntl.LOCK_NB)
      R['downgrade'] = attempt(fcntl.flock, fd, fcntl.LOCK_SH)
      R['otherSharedAfterDowngrade'] = other('-s')
      R['otherExclusiveAfterDowngrade'] = other('-x')
      R['sharedOtherOfd'] = attempt(fcntl.flock, fd2, fcntl.LOCK_SH | fcntl.LOCK_NB)
      R['upgradeBlockedByShared'] = attempt(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      fcntl.flock(fd2, fcntl.LOCK_UN)
      R['upgrade'] = attempt(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      R['unlock'] = attempt(fcntl.flock, fd, fcntl.LOCK_UN)
      R['otherAfterUnlock'] = other('-x')
      R['relock'] = blocking(5, fcntl.flock, fd, fcntl.LOCK_EX)
      os.close(fd3)
      R['afterCloseDup'] = other('-x')
      os.close(fd)
      R['afterCloseLast'] = other('-x')
      # flock and POSIX record locks do not interact
      R['flockForPosixCheck'] = blocking(5, fcntl.flock, fd2, fcntl.LOCK_EX)
      R['posixIndependent'] = subprocess.run([sys.executable, '-c', 'import fcntl, os; fd = os.open("lk", os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)'], timeout=10).returncode
      fcntl.flock(fd2, fcntl.LOCK_UN)
      # a blocking flock waits for the holder
      p = subprocess.Popen(['flock', '-x', 'lk', 'sleep', '1.5'])
      for _ in range(250):
          if other('-x') == 42:
              break
          time.sleep(0.02)
      t0 = time.time()
      R['blocking'] = blocking(5, fcntl.flock, fd2, fcntl.LOCK_EX)
      R['waited'] = time.time() - t0 > 0.2
      p.wait(timeout=10)
      # flock on a directory
      dfd = os.open('.', os.O_RDONLY)
      R['dirLock'] = attempt(fcntl.flock, dfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      R['dirOther'] = subprocess.run(['flock', '-x', '-n', '-E', '42', '.', 'true'], timeout=10).returncode
      `),
    ),

  'posix-locks': async (root) =>
    py(
      root,
      dedent(`
      CHILD = '''
      import fcntl, os, sys, struct, json, errno
      fd = os.open('f', os.O_RDWR)
      def t(fn):
          try:
              fn()
              return 'ok'
          except OSError as e:
              return errno.errorcode[e.errno]
      def getlk(typ, start, ln):
          res = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack('hhqqi4x', typ, 0, start, ln, 0))
          ty, wh, st, l, pid = struct.unpack('hhqqi4x', res)
          return {'type': ty, 'start': st, 'len': l, 'pidIsHolder': pid == int(sys.argv[1]) if ty != fcntl.F_UNLCK else None}
      r = {}
      r['overlapEx'] = t(lambda: fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 50, 10))
      r['overlapSh'] = t(lambda: fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 0))
      r['disjoint'] = t(lambda: fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 200))
      r['adjacent'] = t(lambda: fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 100))
      r['getlkConflict'] = getlk(fcntl.F_WRLCK, 0, 50)
      r['getlkConflictShared'] = getlk(fcntl.F_WRLCK, 500, 1000)
      r['getlkMiddle'] = getlk(fcntl.F_RDLCK, 50, 1)
      r['getlkFree'] = getlk(fcntl.F_WRLCK, 500, 10)
      r['getlkSharedVsShared'] = getlk(fcntl.F_RDLCK, 1000, 10)
      r['getlkExclVsShared'] = getlk(fcntl.F_WRLCK, 1000, 10)
      print(json.dumps(r))
      '''
      def child():
          p = subprocess.run([sys.executable, '-c', CHILD, str(os.getpid())], capture_output=True, text=True, timeout=10)
          return json.loads(p.stdout) if p.returncode == 0 else {'fail': p.stderr[-300:]}
      fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
      os.write(fd, b'x' * 2000)
      R = {}
      R['lockEx'] = blocking(5, fcntl.lockf, fd, fcntl.LOCK_EX, 100, 0)
      R['lockSh'] = blocking(5, fcntl.lockf, fd, fcntl.LOCK_SH, 10, 1000)
      R['relockSameProcess'] = attempt(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 20, 40)
      R['selfGetlk'] = struct.unpack('hhqqi4x', fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0)))[0] == fcntl.F_UNLCK
      R['child1'] = child()
      # unlocking the middle splits the lock
      fcntl.lockf(fd, fcntl.LOCK_UN, 20, 40)
      R['childAfterSplit'] = child()
      # closing ANY fd of the file drops all of this process's POSIX locks
      other = os.open('f', os.O_RDONLY)
      os.close(other)
      R['childAfterCloseOther'] = child()
      # whole-file lock (len 0 = to EOF and beyond)
      # (non-blocking: the children's locks must be gone once they exited)
      R['wholeFileLock'] = attempt(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)
      R['childWholeFile'] = child()
      fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)
      # a read lock needs a readable fd, a write lock a writable fd
      ro = os.open('f', os.O_RDONLY)
      R['writeLockOnRdonly'] = attempt(fcntl.lockf, ro, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
      os.close(ro)
      # OFD locks conflict between two open file descriptions of one process
      F_OFD_GETLK, F_OFD_SETLK = 36, 37
      a = os.open('f', os.O_RDWR)
      b = os.open('f', os.O_RDWR)
      def fc(fd, cmd, data):
          r = attempt(fcntl.fcntl, fd, cmd, data)
          return r if isinstance(r, dict) else 'ok'
      R['ofdLock'] = fc(a, F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 10, 0))
      R['ofdConflict'] = fc(b, F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 5, 10, 0))
      R['ofdDisjoint'] = fc(b, F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 10, 10, 0))
      g = fcntl.fcntl(b, F_OFD_GETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))
      ty, wh, st, l, pid = struct.unpack('hhqqi4x', g)
      R['ofdGetlk'] = [ty, st, l, pid]
      os.close(a); os.close(b)
      `),
    ),

  'lock-wait-interrupt': async (root) =>
    py(
      root,
      dedent(`
      fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
      R = {'lock': blocking(5, fcntl.lockf, fd, fcntl.LOCK_EX, 0, 0)}
      INTR = '''
      import fcntl, os, signal, json
      class Boom(Exception): pass
      def h(s, f): raise Boom()
      signal.signal(signal.SIGALRM, h)
      fd = os.open('f', os.O_RDWR)
      signal.setitimer(signal.ITIMER_REAL, 0.3)
      try:
          fcntl.lockf(fd, fcntl.LOCK_EX)
          print(json.dumps('acquired'))
      except Boom:
          print(json.dumps('interrupted'))
      '''
      WAIT = '''
      import fcntl, os, time, json
      fd = os.open('f', os.O_RDWR)
      t0 = time.time()
      fcntl.lockf(fd, fcntl.LOCK_EX)
      print(json.dumps(['acquired', time.time() - t0 > 0.3]))
      '''
      def runc(code, sleep_then_unlock=None):
          p = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
          if sleep_then_unlock:
              time.sleep(sleep_then_unlock)
              fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)
          try:
              out, _ = p.communicate(timeout=10)
              return json.loads(out) if p.returncode == 0 else {'exit': p.returncode}
          except subprocess.TimeoutExpired:
              p.kill()
              p.communicate()
              return 'timeout'
      R['interrupted'] = runc(INTR)
      # the lock is still ours after the interrupted waiter gave up
      R['stillHeld'] = subprocess.run([sys.executable, '-c', 'import fcntl, os; fd = os.open("f", os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)'], timeout=10, stderr=subprocess.DEVNULL).returncode != 0
      R['waitThenAcquire'] = runc(WAIT, 1.0)
      # the waiter exited: its lock must be gone (non-blocking so a stale lock cannot hang the case)
      R['relockAfterWaiterExit'] = attempt(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)
      # killing a blocked waiter must not leave a stale lock
      p = subprocess.Popen([sys.executable, '-c', 'import fcntl, os; fd = os.open("f", os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX); import time; time.sleep(30)'])
      time.sleep(0.3)
      p.kill()
      p.wait(timeout=10)
      fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)
      R['afterKilledWaiter'] = subprocess.run([sys.executable, '-c', 'import fcntl, os; fd = os.open("f", os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)'], timeout=10, stderr=subprocess.DEVNULL).returncode
      # a flock waiter interrupted by a signal
      fl = os.open('f', os.O_RDONLY)
      R['flockLock'] = blocking(5, fcntl.flock, fl, fcntl.LOCK_EX)
      R['flockInterrupted'] = runc(INTR.replace('fcntl.lockf(fd, fcntl.LOCK_EX)', 'fcntl.flock(fd, fcntl.LOCK_EX)'))
      fcntl.flock(fl, fcntl.LOCK_UN)
      R['flockFreeAfter'] = subprocess.run(['flock', '-n', '-E', '42', 'f', 'true'], timeout=10).returncode
      `),
    ),

  // -- O_TMPFILE ----------------------------------------------------------------------------
  'o-tmpfile': async (root) =>
    py(
      root,
      dedent(`
      os.mkdir('d')
      R = {}
      fd = attempt(os.open, 'd', os.O_TMPFILE | os.O_RDWR, 0o640)
      R['open'] = 'fd' if isinstance(fd, int) else fd
      if isinstance(fd, int):
          os.write(fd, b'anonymous data')
          s = os.fstat(fd)
          R['fstat'] = [oct(s.st_mode), s.st_nlink, s.st_size, s.st_uid, s.st_gid]
          R['listingBefore'] = sorted(os.listdir('d'))
          R['link'] = flink(fd, 'd/linked')
          s = os.stat('d/linked')
          R['linked'] = [oct(s.st_mode), s.st_nlink, s.st_size, open('d/linked', 'rb').read().decode()]
          R['fstatAfterLink'] = os.fstat(fd).st_nlink
          os.write(fd, b'+more')
          R['writeAfterLink'] = open('d/linked', 'rb').read().decode()
          R['linkAgain'] = flink(fd, 'd/linked2')
          R['nlinkTwo'] = os.stat('d/linked').st_nlink
          os.close(fd)
      fd = attempt(os.open, 'd', os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
      if isinstance(fd, int):
          os.write(fd, b'x')
          R['exclLink'] = flink(fd, 'd/never')
          os.close(fd)
      else:
          R['exclLink'] = fd
      R['onFile'] = attempt(os.open, 'd/linked', os.O_TMPFILE | os.O_RDWR, 0o600)
      R['rdonly'] = attempt(os.open, 'd', os.O_TMPFILE | os.O_RDONLY, 0o600)
      R['listing'] = sorted(os.listdir('d'))
      `),
    ),

  // -- sync, access, exec, ioctl -----------------------------------------------------------------
  fsync: async (root) => {
    const r: Rec = {};
    const p = join(root, 'f');
    fs.writeFileSync(p, 'x');
    const fd = fs.openSync(p, 'r+');
    fs.writeSync(fd, 'synced');
    r['fsync'] = attempt(() => fs.fsyncSync(fd));
    r['fdatasync'] = attempt(() => fs.fdatasyncSync(fd));
    fs.closeSync(fd);
    const ro = fs.openSync(p, 'r');
    r['fsyncRdonly'] = attempt(() => fs.fsyncSync(ro));
    fs.closeSync(ro);
    r['content'] = readText(p);
    r['py'] = await py(
      root,
      dedent(`
      dfd = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
      fd = os.open('f', os.O_RDONLY)
      libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_long, ctypes.c_long, ctypes.c_uint]
      R = {'fsyncDir': attempt(os.fsync, dfd), 'fdatasyncDir': attempt(os.fdatasync, dfd),
           'syncfs': cres(libc.syncfs(fd)), 'syncfsDir': cres(libc.syncfs(dfd)),
           'syncFileRange': cres(libc.sync_file_range(fd, 0, 0, 2)), 'sync': attempt(os.sync)}
      `),
    );
    return r;
  },

  access: async (root) => {
    const r: Rec = {};
    const A = (n: string, m: number): unknown => attempt(() => fs.accessSync(join(root, n), m));
    fs.writeFileSync(join(root, 'rw'), '');
    fs.chmodSync(join(root, 'rw'), 0o644);
    fs.writeFileSync(join(root, 'x'), '');
    fs.chmodSync(join(root, 'x'), 0o755);
    fs.writeFileSync(join(root, 'ox'), '');
    fs.chmodSync(join(root, 'ox'), 0o001);
    fs.writeFileSync(join(root, 'none'), '');
    fs.chmodSync(join(root, 'none'), 0o000);
    fs.mkdirSync(join(root, 'd'), 0o000);
    for (const n of ['rw', 'x', 'ox', 'none', 'd', 'missing']) {
      r[n] = [C.F_OK, C.R_OK, C.W_OK, C.X_OK, C.R_OK | C.W_OK | C.X_OK].map((m) => A(n, m));
    }
    r['py'] = await py(
      root,
      dedent(`
      libc.faccessat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
      AT_EACCESS = 0x200
      R = {'eaccess': [cres(libc.faccessat(AT_FDCWD, n, m, AT_EACCESS)) for n in [b'rw', b'x', b'none'] for m in [1, 2, 4]]}
      `),
    );
    return r;
  },

  exec: async (root) => {
    const r: Rec = {};
    const script = join(root, 's.sh');
    fs.writeFileSync(script, '#!/bin/sh\necho "hi $1"\n');
    r['noExecBit'] = await attemptAsync(() => run(script, ['a']).then((x) => x.code));
    fs.chmodSync(script, 0o755);
    const out = await run(script, ['there']);
    r['script'] = [out.code, out.stdout];
    fs.copyFileSync('/bin/true', join(root, 'bin'));
    fs.chmodSync(join(root, 'bin'), 0o755);
    r['binary'] = (await run(join(root, 'bin'), [])).code;
    // write access to a running executable: ETXTBSY
    fs.copyFileSync('/bin/sleep', join(root, 'sl'));
    fs.chmodSync(join(root, 'sl'), 0o755);
    const child = spawn(join(root, 'sl'), ['5'], { stdio: 'ignore' });
    await new Promise<void>((res, rej) => {
      child.once('spawn', () => res());
      child.once('error', rej);
    });
    await sleep(100);
    r['openRunningForWrite'] = attempt(() => fs.closeSync(fs.openSync(join(root, 'sl'), 'r+')));
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill('SIGKILL');
    await exited;
    r['openAfterExit'] = attempt(() => fs.closeSync(fs.openSync(join(root, 'sl'), 'r+')));
    // a file open for writing cannot be executed
    const wfd = fs.openSync(join(root, 'bin'), 'r+');
    r['execWhileOpenForWrite'] = await attemptAsync(() => run(join(root, 'bin'), []).then((x) => x.code));
    fs.closeSync(wfd);
    return r;
  },

  ioctl: async (root) => {
    fs.writeFileSync(join(root, 'f'), 'twelve bytes');
    return py(
      root,
      dedent(`
      import termios, array
      fd = os.open('f', os.O_RDONLY)
      os.lseek(fd, 2, os.SEEK_SET)
      buf = array.array('i', [0])
      R = {'fionread': [attempt(fcntl.ioctl, fd, termios.FIONREAD, buf, True), buf[0]]}
      FIGETBSZ = 2
      b2 = array.array('i', [0])
      R['figetbszPositive'] = [attempt(fcntl.ioctl, fd, FIGETBSZ, b2, True), b2[0] > 0]
      # FS_IOC_GETFLAGS (lsattr) is left out of parity on purpose: braidfs
      # answers every filesystem ioctl ENOTTY (the foundation issue's rule;
      # test/integration/ioctl.test.ts pins it).
      R['tcgets'] = attempt(fcntl.ioctl, fd, termios.TCGETS, bytes(64))
      R['tcgets'] = R['tcgets'] if isinstance(R['tcgets'], dict) else 'ok'
      `),
    );
  },

  // -- concurrency ----------------------------------------------------------------------------
  'multi-process': async (root) => {
    fs.mkdirSync(join(root, 'shared'));
    const P = 8;
    const N = 200;
    const worker = dedent(`
      i = int(sys.argv[1]); N = int(sys.argv[2])
      d = 'p%d' % i
      os.mkdir(d)
      def payload(j):
          return ('%d:%d;' % (i, j) * (j % 13 + 1)).encode()
      for j in range(N):
          with open('%s/f%d' % (d, j), 'wb') as f:
              f.write(payload(j))
      bad = [j for j in range(N) if open('%s/f%d' % (d, j), 'rb').read() != payload(j)]
      for j in range(0, N, 2):
          os.rename('%s/f%d' % (d, j), '%s/r%d' % (d, j))
      for j in range(0, N, 4):
          os.unlink('%s/r%d' % (d, j))
      for j in range(1, N, 10):
          os.rename('%s/f%d' % (d, j), 'shared/p%d-%d' % (i, j))
      won = []
      for k in range(20):
          try:
              fd = os.open('shared/race-%d' % k, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
              os.write(fd, str(i).encode())
              os.close(fd)
              won.append(k)
          except FileExistsError:
              pass
      fd = os.open('shared/log', os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
      for j in range(50):
          os.write(fd, ('%d:%d\\n' % (i, j)).encode())
      os.close(fd)
      for j in range(3):
          os.mkdir('shared/dir-%d-%d' % (i, j))
          os.rmdir('shared/dir-%d-%d' % (i, j))
      R = {'bad': bad, 'won': won}
    `);
    const results = await Promise.all(Array.from({ length: P }, (_, i) => py(root, worker, [String(i), String(N)], 120_000)));
    const payload = (i: number, j: number): string => `${i}:${j};`.repeat((j % 13) + 1);
    const expected = new Map<string, string>();
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < N; j++) {
        if (j % 2 === 0) {
          if (j % 4 !== 0) expected.set(`p${i}/r${j}`, payload(i, j));
        } else if (j % 10 === 1) expected.set(`shared/p${i}-${j}`, payload(i, j));
        else expected.set(`p${i}/f${j}`, payload(i, j));
      }
    }
    const actual = new Map<string, string>();
    const raceOwners: string[] = [];
    let log = '';
    for (const d of fs.readdirSync(root).sort()) {
      for (const f of fs.readdirSync(join(root, d)).sort()) {
        const rel = `${d}/${f}`;
        const content = fs.readFileSync(join(root, d, f), 'latin1');
        if (rel.startsWith('shared/race-')) raceOwners.push(content);
        else if (rel === 'shared/log') log = content;
        else actual.set(rel, content);
      }
    }
    const missing = [...expected.keys()].filter((k) => !actual.has(k));
    const unexpected = [...actual.keys()].filter((k) => !expected.has(k));
    const wrong = [...expected.keys()].filter((k) => actual.has(k) && actual.get(k) !== expected.get(k));
    const lines = log.split('\n').filter((l) => l !== '');
    const perProcessOrdered = Array.from({ length: P }, (_, i) => {
      const mine = lines.filter((l) => l.startsWith(`${i}:`));
      return mine.length === 50 && mine.every((l, j) => l === `${i}:${j}`);
    });
    const wonCount = new Array<number>(20).fill(0);
    for (const res of results) {
      const won = (res as { won?: number[] }).won ?? [];
      for (const k of won) wonCount[k] = (wonCount[k] ?? 0) + 1;
    }
    return {
      workerBad: results.map((res) => (res as { bad?: unknown }).bad ?? res),
      files: actual.size,
      missing: missing.slice(0, 10),
      unexpected: unexpected.slice(0, 10),
      wrong: wrong.slice(0, 10),
      raceWinnersPerName: wonCount,
      raceFiles: raceOwners.length,
      raceContentsValid: raceOwners.every((c) => /^[0-7]$/.test(c)),
      logLines: lines.length,
      logPerProcessOrdered: perProcessOrdered,
      dirs: fs.readdirSync(root).sort(),
    };
  },
};

/** Names of cases, in a stable order. */
export const caseNames = Object.keys(cases);
