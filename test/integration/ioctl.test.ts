// braidfs answers filesystem ioctls with ENOTTY (as the foundation issue
// specifies), while ordinary VFS-level ioctls such as FIONREAD still work.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { withMount } from '../helpers/mount.js';
import { run } from './util.js';

const probe = `
import fcntl, os, sys, array, termios
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.ioctl(fd, 0x80086601, array.array('l', [0]), True)
    print('getflags ok')
except OSError as e:
    print('getflags', e.errno)
b = array.array('i', [0])
fcntl.ioctl(fd, termios.FIONREAD, b, True)
print('fionread', b[0])
`;

test('FS_IOC_GETFLAGS gets ENOTTY through the mount; FIONREAD works', async (t) => {
  const m = await withMount(t);
  writeFileSync(m.path('f'), 'twelve bytes');
  const r = await run('/usr/bin/python3', ['-c', probe, m.path('f')]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'getflags 25\nfionread 12\n');
});
