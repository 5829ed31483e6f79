// Conformance cases: rename.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  dedent,
  ino,
  lstatOf,
  py,
  readText,
  sortedDir,
  statOf,
} from '../util.js';
import { type Case, type Rec } from './shared.js';

export const renameCases: Record<string, Case> = {
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

};
