// Permission-sensitive cases executed as an unprivileged user.
//
// `setup` runs as root in the test process and prepares ownership and modes;
// `run` is executed as uid/gid 65534 through
//   setpriv --reuid=65534 --regid=65534 (--clear-groups | --groups=G) \
//     node dist/test/conformance/run-case.js <name> <root>
// and `check` (optional) runs as root afterwards to look at the outcome.
// The unprivileged test compares {run, check} between a plain directory and
// the mount, exactly like the root parity suite.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { attempt, dedent, lstatOf, py, readText, sortedDir, statOf, timesNs, run as runTool } from './util.js';

export const UNPRIV = 65534;
/** Supplementary group given to the user in the group cases. */
export const MEMBER_GID = 4242;
/** A group the user is not a member of. */
export const OTHER_GID = 4343;

export interface UserCase {
  /** Supplementary groups for setpriv; none means --clear-groups. */
  groups?: number[];
  setup: (root: string) => void | Promise<void>;
  run: (root: string) => Promise<unknown>;
  check?: (root: string) => Promise<unknown>;
}

type Rec = Record<string, unknown>;

const C_WRONLY = fs.constants.O_WRONLY;
const C_CREAT_WRONLY = fs.constants.O_CREAT | fs.constants.O_WRONLY;

function mkfile(p: string, content: string, uid: number, gid: number, mode: number): void {
  fs.writeFileSync(p, content);
  fs.chownSync(p, uid, gid);
  fs.chmodSync(p, mode);
}

function mkdir(p: string, uid: number, gid: number, mode: number): void {
  fs.mkdirSync(p);
  fs.chownSync(p, uid, gid);
  fs.chmodSync(p, mode);
}

export const userCases: Record<string, UserCase> = {
  'create-in-root-0755-dir': {
    setup(root) {
      mkdir(join(root, 'd'), 0, 0, 0o755);
      mkfile(join(root, 'd', 'g'), 'root file', 0, 0, 0o644);
      mkdir(join(root, 'w'), 0, 0, 0o777);
    },
    async run(root) {
      const d = (...n: string[]): string => join(root, 'd', ...n);
      const r: Rec = {};
      r['create'] = attempt(() => fs.writeFileSync(d('f'), 'x'));
      r['createExcl'] = attempt(() => fs.openSync(d('f2'), 'wx'));
      r['mkdir'] = attempt(() => fs.mkdirSync(d('x')));
      r['symlink'] = attempt(() => fs.symlinkSync('g', d('l')));
      r['mkfifo'] = (await runTool('mkfifo', [d('fifo')])).code;
      r['unlink'] = attempt(() => fs.unlinkSync(d('g')));
      r['rename'] = attempt(() => fs.renameSync(d('g'), d('g2')));
      r['renameOut'] = attempt(() => fs.renameSync(d('g'), join(root, 'w', 'g')));
      r['openWrite'] = attempt(() => fs.openSync(d('g'), 'r+'));
      r['truncate'] = attempt(() => fs.truncateSync(d('g'), 0));
      r['read'] = readText(d('g'));
      r['readdir'] = sortedDir(d());
      // protected_hardlinks: linking someone else's file you cannot write
      r['linkOthersFile'] = attempt(() => fs.linkSync(d('g'), join(root, 'w', 'hl')));
      r['linkIntoRootDir'] = attempt(() => {
        fs.writeFileSync(join(root, 'w', 'mine'), 'm');
        fs.linkSync(join(root, 'w', 'mine'), d('mine'));
      });
      return r;
    },
    async check(root) {
      return { d: sortedDir(join(root, 'd')), w: sortedDir(join(root, 'w')), g: statOf(join(root, 'd', 'g')) };
    },
  },

  'create-in-0777-dir': {
    setup(root) {
      mkdir(join(root, 'w'), 0, 0, 0o777);
    },
    async run(root) {
      const w = (...n: string[]): string => join(root, 'w', ...n);
      const r: Rec = {};
      r['create'] = attempt(() => fs.writeFileSync(w('f'), 'mine'));
      r['stat'] = statOf(w('f'));
      r['mkdir'] = [attempt(() => fs.mkdirSync(w('sub'))), statOf(w('sub'))];
      r['nested'] = [attempt(() => fs.writeFileSync(w('sub', 'n'), 'n')), statOf(w('sub', 'n'))];
      r['symlink'] = [attempt(() => fs.symlinkSync('f', w('l'))), lstatOf(w('l'))];
      r['mkfifo'] = [(await runTool('mkfifo', [w('fifo')])).code, lstatOf(w('fifo'))];
      r['link'] = [attempt(() => fs.linkSync(w('f'), w('f2'))), statOf(w('f2'))];
      r['rename'] = attempt(() => fs.renameSync(w('f2'), w('f3')));
      r['chmod'] = [attempt(() => fs.chmodSync(w('f'), 0o600)), statOf(w('f'))];
      r['utimes'] = [attempt(() => fs.utimesSync(w('f'), 1000000000, 1000000001)), timesNs(w('f'))];
      r['chownSelf'] = attempt(() => fs.chownSync(w('f'), UNPRIV, UNPRIV));
      r['chownToRoot'] = attempt(() => fs.chownSync(w('f'), 0, -1));
      r['chgrpToRoot'] = attempt(() => fs.chownSync(w('f'), -1, 0));
      r['tmpfile'] = await py(
        join(root, 'w'),
        dedent(`
        fd = attempt(os.open, '.', os.O_TMPFILE | os.O_RDWR, 0o600)
        if isinstance(fd, int):
            R = [flink(fd, 'tmp'), os.stat('tmp').st_uid, os.stat('tmp').st_gid, oct(os.stat('tmp').st_mode)]
        else:
            R = fd
        `),
      );
      r['listing'] = sortedDir(w());
      return r;
    },
    async check(root) {
      const w = (...n: string[]): string => join(root, 'w', ...n);
      return {
        asRoot: ['f', 'sub', 'sub/n', 'f3', 'fifo', 'tmp'].map((n) => [n, statOf(w(n))]),
        symlink: lstatOf(w('l')),
      };
    },
  },

  'chmod-chown-others-file': {
    setup(root) {
      mkfile(join(root, 'f'), 'root 0644', 0, 0, 0o644);
      mkfile(join(root, 'g'), 'root 0666', 0, 0, 0o666);
      fs.utimesSync(join(root, 'f'), 1000, 1000);
      fs.utimesSync(join(root, 'g'), 1000, 1000);
    },
    async run(root) {
      const f = join(root, 'f');
      const g = join(root, 'g');
      const r: Rec = {};
      r['chmod'] = attempt(() => fs.chmodSync(f, 0o777));
      r['chownToSelf'] = attempt(() => fs.chownSync(f, UNPRIV, -1));
      r['chgrpToSelf'] = attempt(() => fs.chownSync(f, -1, UNPRIV));
      r['chownNoop'] = attempt(() => fs.chownSync(f, -1, -1));
      r['utimesExplicit'] = attempt(() => fs.utimesSync(f, 5, 5));
      r['chmodWritable'] = attempt(() => fs.chmodSync(g, 0o777));
      r['utimesExplicitWritable'] = attempt(() => fs.utimesSync(g, 5, 5));
      r['py'] = await py(
        root,
        dedent(`
        now = lambda p: cres(libc.utimensat(AT_FDCWD, p, None, 0))
        R = {'utimesNowReadonly': now(b'f'), 'utimesNowWritable': now(b'g')}
        R['gRecent'] = abs(os.stat('g').st_mtime - time.time()) < 30
        R['fUnchanged'] = os.stat('f').st_mtime_ns
        `),
      );
      r['writeWritable'] = attempt(() => fs.appendFileSync(g, '+user'));
      r['stats'] = [statOf(f), statOf(g)];
      return r;
    },
    async check(root) {
      return [statOf(join(root, 'f')), statOf(join(root, 'g')), readText(join(root, 'g'))];
    },
  },

  'open-write-0444': {
    setup(root) {
      mkfile(join(root, 'own'), 'own readonly', UNPRIV, UNPRIV, 0o444);
      mkfile(join(root, 'rootro'), 'root readonly', 0, 0, 0o444);
    },
    async run(root) {
      const own = join(root, 'own');
      const r: Rec = {};
      r['openRW'] = attempt(() => fs.openSync(own, 'r+'));
      r['openW'] = attempt(() => fs.openSync(own, C_WRONLY));
      r['openTrunc'] = attempt(() => fs.openSync(own, 'w'));
      r['openAppend'] = attempt(() => fs.openSync(own, 'a'));
      r['truncate'] = attempt(() => fs.truncateSync(own, 0));
      r['read'] = readText(own);
      r['accessW'] = attempt(() => fs.accessSync(own, fs.constants.W_OK));
      r['accessR'] = attempt(() => fs.accessSync(own, fs.constants.R_OK));
      r['rootRW'] = attempt(() => fs.openSync(join(root, 'rootro'), 'r+'));
      r['rootRead'] = readText(join(root, 'rootro'));
      r['chmodOwn'] = attempt(() => fs.chmodSync(own, 0o644));
      r['writeAfterChmod'] = attempt(() => fs.appendFileSync(own, '+w'));
      r['final'] = [statOf(own), readText(own)];
      // write permission is checked at open: an fd opened before chmod 0444 still writes
      const fd = fs.openSync(own, 'r+');
      fs.chmodSync(own, 0o444);
      r['writeViaOldFd'] = attempt(() => fs.writeSync(fd, 'O', 0));
      fs.closeSync(fd);
      r['afterOldFd'] = readText(own);
      return r;
    },
  },

  'read-0600-root-file': {
    setup(root) {
      mkfile(join(root, 'secret'), 'hidden', 0, 0, 0o600);
      mkdir(join(root, 'priv'), 0, 0, 0o700);
      mkfile(join(root, 'priv', 'x'), 'x', 0, 0, 0o644);
      mkdir(join(root, 'nox'), 0, 0, 0o644);
      mkfile(join(root, 'nox', 'y'), 'y', 0, 0, 0o644);
      mkdir(join(root, 'xonly'), 0, 0, 0o711);
      mkfile(join(root, 'xonly', 'z'), 'z', 0, 0, 0o644);
    },
    async run(root) {
      const r: Rec = {};
      r['read'] = readText(join(root, 'secret'));
      r['open'] = attempt(() => fs.openSync(join(root, 'secret'), 'r'));
      r['stat'] = statOf(join(root, 'secret'));
      r['accessR'] = attempt(() => fs.accessSync(join(root, 'secret'), fs.constants.R_OK));
      r['accessF'] = attempt(() => fs.accessSync(join(root, 'secret'), fs.constants.F_OK));
      r['readdirPriv'] = sortedDir(join(root, 'priv'));
      r['statInPriv'] = statOf(join(root, 'priv', 'x'));
      r['readdirNox'] = sortedDir(join(root, 'nox'));
      r['statInNox'] = statOf(join(root, 'nox', 'y'));
      r['readdirXonly'] = sortedDir(join(root, 'xonly'));
      r['readInXonly'] = readText(join(root, 'xonly', 'z'));
      r['xattrSecret'] = await py(root, `R = [attempt(lambda: os.listxattr('secret')), attempt(lambda: os.getxattr('secret', 'user.x'))]`);
      return r;
    },
  },

  'sticky-dir': {
    setup(root) {
      mkdir(join(root, 't'), 0, 0, 0o1777);
      mkfile(join(root, 't', 'other'), 'other', 1000, 1000, 0o666);
      mkfile(join(root, 't', 'mine'), 'mine', UNPRIV, UNPRIV, 0o644);
      mkfile(join(root, 't', 'rootf'), 'root', 0, 0, 0o666);
      mkdir(join(root, 't', 'odir'), 1000, 1000, 0o777);
    },
    async run(root) {
      const t = (...n: string[]): string => join(root, 't', ...n);
      const r: Rec = {};
      r['unlinkOther'] = attempt(() => fs.unlinkSync(t('other')));
      r['unlinkRootFile'] = attempt(() => fs.unlinkSync(t('rootf')));
      r['renameOther'] = attempt(() => fs.renameSync(t('other'), t('x')));
      r['renameMineOverOther'] = attempt(() => fs.renameSync(t('mine'), t('other')));
      r['rmdirOtherDir'] = attempt(() => fs.rmdirSync(t('odir')));
      r['writeOther'] = attempt(() => fs.appendFileSync(t('other'), '+'));
      r['creatExistingOther'] = attempt(() => fs.closeSync(fs.openSync(t('other'), C_CREAT_WRONLY)));
      r['createNew'] = attempt(() => fs.writeFileSync(t('new'), 'n'));
      r['renameMine'] = attempt(() => fs.renameSync(t('mine'), t('mine2')));
      r['unlinkMine'] = attempt(() => fs.unlinkSync(t('mine2')));
      r['createInOtherDir'] = attempt(() => fs.writeFileSync(t('odir', 'inside'), 'i'));
      r['listing'] = sortedDir(t());
      return r;
    },
    async check(root) {
      return { listing: sortedDir(join(root, 't')), other: [statOf(join(root, 't', 'other')), readText(join(root, 't', 'other'))] };
    },
  },

  'chown-supplementary-groups': {
    groups: [MEMBER_GID],
    setup(root) {
      mkdir(join(root, 'w'), 0, 0, 0o777);
      mkfile(join(root, 'w', 'f'), 'f', UNPRIV, UNPRIV, 0o644);
      mkfile(join(root, 'w', 'h'), 'h', UNPRIV, 1000, 0o644);
      mkfile(join(root, 'w', 'grp'), 'group readable', 0, MEMBER_GID, 0o640);
      mkfile(join(root, 'w', 'grp2'), 'other group', 0, OTHER_GID, 0o640);
      mkdir(join(root, 'gdir'), 0, MEMBER_GID, 0o770);
    },
    async run(root) {
      const w = (...n: string[]): string => join(root, 'w', ...n);
      const r: Rec = {};
      r['chgrpMember'] = [attempt(() => fs.chownSync(w('f'), -1, MEMBER_GID)), statOf(w('f'))];
      r['chgrpNonMember'] = [attempt(() => fs.chownSync(w('f'), -1, OTHER_GID)), statOf(w('f'))];
      r['chownOtherUser'] = attempt(() => fs.chownSync(w('f'), 1000, -1));
      r['chownOwnUid'] = attempt(() => fs.chownSync(w('f'), UNPRIV, -1));
      r['chgrpPrimary'] = [attempt(() => fs.chownSync(w('f'), -1, UNPRIV)), statOf(w('f'))];
      r['newFileGid'] = [attempt(() => fs.writeFileSync(w('new'), '')), statOf(w('new'))];
      // set-group-ID is silently dropped when the owner is not in the file's group
      r['sgidNonMemberGroup'] = [attempt(() => fs.chmodSync(w('h'), 0o2755)), statOf(w('h'))];
      fs.chownSync(w('f'), -1, MEMBER_GID);
      r['sgidMemberGroup'] = [attempt(() => fs.chmodSync(w('f'), 0o2755)), statOf(w('f'))];
      r['readViaGroup'] = readText(w('grp'));
      r['readOtherGroup'] = readText(w('grp2'));
      r['createInGroupDir'] = [attempt(() => fs.writeFileSync(join(root, 'gdir', 'm'), 'm')), statOf(join(root, 'gdir', 'm'))];
      return r;
    },
    async check(root) {
      return ['f', 'h', 'new'].map((n) => statOf(join(root, 'w', n)));
    },
  },

  'setid-cleared-on-write': {
    setup(root) {
      mkdir(join(root, 'w'), 0, 0, 0o777);
      for (const n of ['a', 'b', 'c', 'e']) mkfile(join(root, 'w', n), 'content', UNPRIV, UNPRIV, 0o6755);
      mkfile(join(root, 'w', 'd'), 'content', UNPRIV, UNPRIV, 0o2745);
      mkfile(join(root, 'w', 'o'), 'content', 0, 0, 0o4777);
    },
    async run(root) {
      const w = (n: string): string => join(root, 'w', n);
      const r: Rec = {};
      r['write'] = [attempt(() => fs.appendFileSync(w('a'), '+')), statOf(w('a'))];
      r['truncate'] = [attempt(() => fs.truncateSync(w('b'), 2)), statOf(w('b'))];
      r['chownSame'] = [attempt(() => fs.chownSync(w('c'), UNPRIV, UNPRIV)), statOf(w('c'))];
      r['writeSgidNoGroupExec'] = [attempt(() => fs.appendFileSync(w('d'), '+')), statOf(w('d'))];
      r['pwriteViaFd'] = attempt(() => {
        const fd = fs.openSync(w('e'), 'r+');
        fs.writeSync(fd, 'X', 3);
        const st = fs.fstatSync(fd);
        fs.closeSync(fd);
        return (st.mode & 0o7777).toString(8);
      });
      r['afterFd'] = statOf(w('e'));
      r['writeOthersSuid'] = [attempt(() => fs.appendFileSync(w('o'), '+')), statOf(w('o'))];
      return r;
    },
    async check(root) {
      return ['a', 'b', 'c', 'd', 'e', 'o'].map((n) => [statOf(join(root, 'w', n)), readText(join(root, 'w', n))]);
    },
  },

  // O_TRUNC by someone else: with atomic_o_trunc the kernel leaves clearing
  // the bits to the daemon (FUSE_OPEN_KILL_SUIDGID), whose own truncate, as root, keeps them.
  'setid-cleared-on-open-trunc': {
    groups: [MEMBER_GID],
    setup(root) {
      mkdir(join(root, 'w'), 0, 0, 0o777);
      mkfile(join(root, 'w', 'a'), 'content', 0, 0, 0o6777);
      // sgid without group exec: kept for a member of the group, cleared for anyone else
      mkfile(join(root, 'w', 'member'), 'content', 0, MEMBER_GID, 0o2766);
      mkfile(join(root, 'w', 'other'), 'content', 0, OTHER_GID, 0o2766);
      mkfile(join(root, 'w', 'plain'), 'content', 0, 0, 0o0666);
    },
    async run(root) {
      const r: Rec = {};
      for (const n of ['a', 'member', 'other', 'plain']) {
        const p = join(root, 'w', n);
        r[n] = [attempt(() => fs.closeSync(fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_TRUNC))), statOf(p)];
      }
      return r;
    },
    async check(root) {
      return ['a', 'member', 'other', 'plain'].map((n) => statOf(join(root, 'w', n)));
    },
  },

  // The owner sets suid while a write fd is open: the next write through
  // that fd clears it again. With passthrough the write never reaches the
  // daemon; the kernel sends a SETATTR that sets nothing (file_remove_privs).
  'setid-set-while-open-for-write': {
    setup(root) {
      mkdir(join(root, 'w'), 0, 0, 0o777);
      mkfile(join(root, 'w', 'f'), 'content', UNPRIV, UNPRIV, 0o0777);
      mkfile(join(root, 'w', 'g'), 'content', UNPRIV, UNPRIV, 0o0775);
    },
    async run(root) {
      const r: Rec = {};
      for (const [n, mode] of [['f', 0o4777], ['g', 0o2775]] as const) {
        const p = join(root, 'w', n);
        r[n] = attempt(() => {
          const fd = fs.openSync(p, 'a');
          try {
            fs.writeSync(fd, '1');
            fs.chmodSync(p, mode);
            const set = (fs.statSync(p).mode & 0o7777).toString(8);
            fs.writeSync(fd, '2');
            return [set, (fs.fstatSync(fd).mode & 0o7777).toString(8)];
          } finally {
            fs.closeSync(fd);
          }
        });
        r[`${n}After`] = statOf(p);
      }
      return r;
    },
    async check(root) {
      return ['f', 'g'].map((n) => [statOf(join(root, 'w', n)), readText(join(root, 'w', n))]);
    },
  },

  'dir-permissions': {
    setup(root) {
      mkdir(join(root, 'ro'), UNPRIV, UNPRIV, 0o555);
      mkfile(join(root, 'ro', 'in'), 'in', UNPRIV, UNPRIV, 0o644);
      mkdir(join(root, 'wx'), 0, 0, 0o733);
      mkfile(join(root, 'wx', 'known'), 'known', 0, 0, 0o644);
    },
    async run(root) {
      const r: Rec = {};
      r['createInRo'] = attempt(() => fs.writeFileSync(join(root, 'ro', 'x'), ''));
      r['unlinkInRo'] = attempt(() => fs.unlinkSync(join(root, 'ro', 'in')));
      r['writeExistingInRo'] = attempt(() => fs.appendFileSync(join(root, 'ro', 'in'), '+'));
      r['chmodRoDir'] = [attempt(() => fs.chmodSync(join(root, 'ro'), 0o755)), statOf(join(root, 'ro'))];
      r['createAfterChmod'] = attempt(() => fs.writeFileSync(join(root, 'ro', 'x'), ''));
      r['createInWx'] = attempt(() => fs.writeFileSync(join(root, 'wx', 'mine'), 'mine'));
      r['readdirWx'] = sortedDir(join(root, 'wx'));
      r['statKnownInWx'] = statOf(join(root, 'wx', 'known'));
      r['statMineInWx'] = statOf(join(root, 'wx', 'mine'));
      r['renameInWx'] = attempt(() => fs.renameSync(join(root, 'wx', 'mine'), join(root, 'wx', 'mine2')));
      r['unlinkRootsInWx'] = attempt(() => fs.unlinkSync(join(root, 'wx', 'known')));
      r['rmdirAsNonOwner'] = attempt(() => fs.rmdirSync(join(root, 'wx')));
      return r;
    },
    async check(root) {
      return [sortedDir(join(root, 'ro')), sortedDir(join(root, 'wx')), statOf(join(root, 'ro'))];
    },
  },

  'xattr-permissions': {
    async setup(root) {
      mkfile(join(root, 'own'), '', UNPRIV, UNPRIV, 0o644);
      mkfile(join(root, 'rootf'), '', 0, 0, 0o644);
      mkfile(join(root, 'rootw'), '', 0, 0, 0o666);
      await py(root, `os.setxattr('rootf', 'user.r', b'readable'); os.setxattr('rootf', 'trusted.t', b'hidden')`);
    },
    async run(root) {
      return py(
        root,
        dedent(`
        def get(p, n):
            r = attempt(os.getxattr, p, n)
            return r.decode() if isinstance(r, bytes) else r
        R = {}
        R['setOwn'] = attempt(os.setxattr, 'own', 'user.x', b'mine')
        R['getOwn'] = get('own', 'user.x')
        R['setRootReadonly'] = attempt(os.setxattr, 'rootf', 'user.x', b'v')
        R['removeRootReadonly'] = attempt(os.removexattr, 'rootf', 'user.r')
        R['getRootReadonly'] = get('rootf', 'user.r')
        R['setRootWritable'] = attempt(os.setxattr, 'rootw', 'user.w', b'w')
        R['getRootWritable'] = get('rootw', 'user.w')
        R['setTrusted'] = attempt(os.setxattr, 'own', 'trusted.x', b'v')
        R['getTrusted'] = get('rootf', 'trusted.t')
        R['listRoot'] = attempt(lambda: sorted(os.listxattr('rootf')))
        R['setSecurity'] = attempt(os.setxattr, 'own', 'security.x', b'v')
        `),
      );
    },
    async check(root) {
      return py(root, `R = [sorted(os.listxattr('own')), sorted(os.listxattr('rootf')), sorted(os.listxattr('rootw'))]`);
    },
  },
};

export const userCaseNames = Object.keys(userCases);
