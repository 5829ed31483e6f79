// Conformance cases: open / create / read / write.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  dedent,
  fstatOf,
  lstatOf,
  py,
  readText,
  sortedDir,
  statOf,
} from '../util.js';
import { C, hex, sha, preadHex, pattern, type Case, type Rec } from './shared.js';

export const ioCases: Record<string, Case> = {
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

};
