// Conformance cases: O_TMPFILE.
import {
  dedent,
  py,
} from '../util.js';
import { type Case } from './shared.js';

export const tmpfileCases: Record<string, Case> = {
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

};
