// Conformance cases: special files.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  dedent,
  lstatOf,
  py,
  sortedDir,
} from '../util.js';
import { tool, type Case, type Rec } from './shared.js';

export const specialCases: Record<string, Case> = {
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

};
