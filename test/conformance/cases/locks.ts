// Conformance cases: locks.
import {
  dedent,
  py,
} from '../util.js';
import { type Case } from './shared.js';

export const locksCases: Record<string, Case> = {
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

};
