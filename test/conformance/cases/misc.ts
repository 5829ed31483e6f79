// Conformance cases: sync, access, exec, ioctl.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  attemptAsync,
  dedent,
  py,
  readText,
  run,
  sleep,
} from '../util.js';
import { C, type Case, type Rec } from './shared.js';

export const miscCases: Record<string, Case> = {
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

};
