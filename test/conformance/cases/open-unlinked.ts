// Conformance cases: unlink while open.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  dedent,
  fstatOf,
  py,
  readText,
  sortedDir,
  statOf,
} from '../util.js';
import { preadHex, type Case, type Rec } from './shared.js';

export const openUnlinkedCases: Record<string, Case> = {
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

};
