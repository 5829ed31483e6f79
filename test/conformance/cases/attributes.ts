// Conformance cases: attributes.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  dedent,
  fstatOf,
  lstatOf,
  py,
  run,
  statOf,
  timesNs,
} from '../util.js';
import { tool, type Case, type Rec } from './shared.js';

export const attributesCases: Record<string, Case> = {
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

};
