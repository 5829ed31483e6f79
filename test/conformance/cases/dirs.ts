// Conformance cases: directories.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  describeStat,
  ino,
  oct,
  py,
  run,
  sortedDir,
  statOf,
} from '../util.js';
import { type Case, type Rec } from './shared.js';

export const dirsCases: Record<string, Case> = {
  // -- directories ------------------------------------------------------------
  'mkdir-rmdir': async (root) => {
    const r: Rec = {};
    const d = join(root, 'd');
    r['mkdir'] = attempt(() => fs.mkdirSync(d));
    r['stat'] = statOf(d);
    r['rootNlinkAfterOne'] = fs.statSync(root).nlink;
    r['mkdirExisting'] = attempt(() => fs.mkdirSync(d));
    r['mkdirMissingParent'] = attempt(() => fs.mkdirSync(join(root, 'a', 'b', 'c')));
    fs.writeFileSync(join(root, 'file'), 'x');
    r['mkdirOverFile'] = attempt(() => fs.mkdirSync(join(root, 'file')));
    r['mkdirUnderFile'] = attempt(() => fs.mkdirSync(join(root, 'file', 'x')));
    r['mkdirMode700'] = [attempt(() => fs.mkdirSync(join(root, 'm700'), 0o700)), statOf(join(root, 'm700'))];
    r['mkdirMode1777'] = [attempt(() => fs.mkdirSync(join(root, 'm1777'), 0o1777)), statOf(join(root, 'm1777'))];
    r['mkdirTrailingSlash'] = attempt(() => fs.mkdirSync(join(root, 'ts') + '/'));
    r['mkdirRecursive'] = attempt(() => {
      fs.mkdirSync(join(root, 'r', 's', 't'), { recursive: true });
    });
    fs.mkdirSync(join(d, 'sub1'));
    fs.mkdirSync(join(d, 'sub2'));
    fs.writeFileSync(join(d, 'f'), '');
    r['nlinkWithSubdirs'] = fs.statSync(d).nlink;
    r['dotdotIsParent'] = ino(join(d, 'sub1', '..')) === ino(d);
    r['dotIsSelf'] = ino(join(d, '.')) === ino(d);
    r['rmdirNonEmpty'] = attempt(() => fs.rmdirSync(d));
    r['rmdirFile'] = attempt(() => fs.rmdirSync(join(root, 'file')));
    r['unlinkDir'] = attempt(() => fs.unlinkSync(d));
    r['unlinkFileTrailingSlash'] = attempt(() => fs.unlinkSync(join(root, 'file') + '/'));
    r['rmdirMissing'] = attempt(() => fs.rmdirSync(join(root, 'missing')));
    r['rmdirDot'] = attempt(() => fs.rmdirSync(join(d, 'sub1') + '/.'));
    fs.symlinkSync('d', join(root, 'ld'));
    r['rmdirSymlinkToDir'] = attempt(() => fs.rmdirSync(join(root, 'ld')));
    r['rmdirSub'] = attempt(() => fs.rmdirSync(join(d, 'sub1')));
    r['nlinkAfterRmdir'] = fs.statSync(d).nlink;
    r['statRemoved'] = statOf(join(d, 'sub1'));
    r['rmdirTrailingSlash'] = attempt(() => fs.rmdirSync(join(d, 'sub2') + '/'));
    fs.unlinkSync(join(d, 'f'));
    r['rmdirNowEmpty'] = attempt(() => fs.rmdirSync(d));
    r['rootNlinkEnd'] = fs.statSync(root).nlink;
    r['listing'] = sortedDir(root);
    // recreate under the same name: must be a fresh, empty directory
    fs.mkdirSync(d);
    r['recreated'] = [statOf(d), sortedDir(d)];
    return r;
  },

  'readdir-basic': async (root) => {
    const r: Rec = {};
    r['empty'] = sortedDir(root);
    for (const n of ['b', 'a', 'c', '.hidden', 'with space', 'ünïcödé']) fs.writeFileSync(join(root, n), n);
    fs.mkdirSync(join(root, 'dir'));
    fs.symlinkSync('a', join(root, 'link'));
    await run('mkfifo', [join(root, 'fifo')]);
    r['names'] = sortedDir(root);
    r['types'] = fs
      .readdirSync(root, { withFileTypes: true })
      .map((e) => [e.name, e.isFile() ? 'file' : e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : e.isFIFO() ? 'fifo' : 'other'])
      .sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
    const dh = fs.opendirSync(root);
    const seen: string[] = [];
    for (let e = dh.readSync(); e !== null; e = dh.readSync()) seen.push(e.name);
    dh.closeSync();
    r['opendirNames'] = seen.sort();
    r['readdirFile'] = attempt(() => fs.readdirSync(join(root, 'a')));
    r['readdirMissing'] = attempt(() => fs.readdirSync(join(root, 'missing')));
    r['readdirViaSymlink'] = attempt(() => {
      fs.symlinkSync('dir', join(root, 'dirlink'));
      fs.writeFileSync(join(root, 'dir', 'inner'), '');
      return fs.readdirSync(join(root, 'dirlink'));
    });
    r['lsA'] = (await run('ls', ['-A1', '--color=never'], { cwd: root })).stdout.split('\n');
    r['pyScandir'] = await py(root, `R = sorted([e.name, e.is_dir(follow_symlinks=False), e.is_symlink()] for e in os.scandir('.'))`);
    return r;
  },

  'readdir-many': async (root) => {
    const dir = join(root, 'many');
    fs.mkdirSync(dir);
    const N = 3000;
    const expected = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const name = `f${String(i).padStart(4, '0')}-${'x'.repeat(i % 60)}`;
      const size = i % 17;
      fs.writeFileSync(join(dir, name), Buffer.alloc(size, 97));
      expected.set(name, size);
    }
    const expectedNames = [...expected.keys()].sort();
    const summarise = (names: string[]): Rec => {
      const have = new Set(names);
      const sorted = [...names].sort();
      const dup = sorted.filter((n, i) => i > 0 && sorted[i - 1] === n);
      return {
        count: names.length,
        duplicates: dup.slice(0, 10),
        missing: expectedNames.filter((n) => !have.has(n)).slice(0, 10),
        unexpected: sorted.filter((n) => !expected.has(n)).slice(0, 10),
      };
    };
    const r: Rec = {};
    const names = fs.readdirSync(dir);
    r['readdir'] = summarise(names);
    // ls -la style: every entry's lstat (this is what READDIRPLUS serves)
    const bad: unknown[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const st = fs.lstatSync(join(dir, e.name));
      if (!e.isFile() || !st.isFile() || st.size !== expected.get(e.name) || st.nlink !== 1 || oct(st.mode) !== '0644') {
        bad.push([e.name, describeStat(st), e.isFile()]);
      }
    }
    r['lstatMismatches'] = bad.slice(0, 10);
    const ls = await run('ls', ['-lan', '--time-style=+T', '--color=never'], { cwd: dir });
    const lsBad: string[] = [];
    const lsNames: string[] = [];
    for (const line of ls.stdout.split('\n')) {
      const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+T\s(.*)$/.exec(line);
      if (!m) continue;
      const name = m[6]!;
      if (name === '.' || name === '..') continue;
      lsNames.push(name);
      if (m[1] !== '-rw-r--r--' || m[2] !== '1' || m[3] !== '0' || m[4] !== '0' || Number(m[5]) !== expected.get(name)) lsBad.push(line);
    }
    r['lsLa'] = { code: ls.code, ...summarise(lsNames), bad: lsBad.slice(0, 10) };
    // delete every other entry; listing must follow
    for (let i = 0; i < N; i += 2) {
      const name = expectedNames[i]!;
      fs.unlinkSync(join(dir, name));
      expected.delete(name);
    }
    const after = fs.readdirSync(dir).sort();
    r['afterDelete'] = { count: after.length, same: JSON.stringify(after) === JSON.stringify([...expected.keys()].sort()) };
    r['dirNlink'] = fs.statSync(dir).nlink;
    return r;
  },

};
