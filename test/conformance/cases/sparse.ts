// Conformance cases: sparse files, seek, fallocate, copy_file_range.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  dedent,
  py,
  statOf,
} from '../util.js';
import { GiB, preadHex, tool, type Case, type Rec } from './shared.js';

export const sparseCases: Record<string, Case> = {
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

};
