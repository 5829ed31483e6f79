// SETATTR of owner, mode and times is answered by the addon (addon.c
// serve_setattr) while chown, chmod and utimens are epall, repeating
// ops/attr.ts setattr. The same script of chown, chmod and utimes calls runs
// from a separate process against a mount where the addon answers and one
// where JS answers everything (reader=thread: the addon answers nothing;
// func.getattr=newest would change which copy a fold and a stat pick): every result, and the owner, mode and times left on every
// branch copy, must be the same, and the first mount must really have
// answered in the addon. Mixed results (a copy the branch refuses to
// change: chattr +i) fold by the branch the getattr search reports.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, withMount } from '../helpers/mount.js';
import { addonAnswered } from './util.js';

/** Three branches: a (RW), r (RO), b (RW), each with directory d. Returns the files made immutable (to undo). */
function branches(): { a: string; r: string; b: string; immutable: string[] } {
  const a = makeTempDir('braidfs-sat-a-');
  const r = makeTempDir('braidfs-sat-r-');
  const b = makeTempDir('braidfs-sat-b-');
  for (const root of [a, r, b]) mkdirSync(join(root, 'd'));
  writeFileSync(join(a, 'd', 'only-a'), 'a');
  for (const root of [a, b]) {
    writeFileSync(join(root, 'd', 'both'), root);
    writeFileSync(join(root, 'd', 'stuck-second'), root);
    writeFileSync(join(root, 'd', 'stuck-first'), root);
    mkdirSync(join(root, 'd', 'dir'));
  }
  writeFileSync(join(r, 'd', 'only-ro'), 'r');
  writeFileSync(join(r, 'd', 'ro-and-b'), 'r');
  writeFileSync(join(b, 'd', 'ro-and-b'), 'b');
  symlinkSync('both', join(a, 'd', 'link'));
  // suid/sgid for a chown to clear (the kernel asks with FATTR_KILL_SUIDGID; JS clears them).
  writeFileSync(join(a, 'd', 'suid'), 'a', { mode: 0o6755 });
  chmodSync(join(a, 'd', 'suid'), 0o6755);
  // A copy the branch refuses to change (EPERM): on the second branch, and on the first.
  const immutable = [join(b, 'd', 'stuck-second'), join(a, 'd', 'stuck-first')];
  for (const f of immutable) {
    const c = spawnSync('chattr', ['+i', f], { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`chattr +i ${f}: ${c.stderr}`);
  }
  return { a, r, b, immutable };
}

const SCRIPT = `
import os, subprocess, sys
d = os.path.join(sys.argv[1], 'd')
out = []
def do(label, fn):
    try:
        fn()
        st = os.lstat(os.path.join(d, label.split()[-1]))
        out.append('%s ok uid=%d gid=%d mode=%o mtime=%d' % (label, st.st_uid, st.st_gid, st.st_mode, st.st_mtime_ns if st.st_mtime_ns < 10**15 else -1))
    except OSError as e:
        out.append(label + ' ' + os.strerror(e.errno))
names = ['suid', 'only-a', 'both', 'stuck-second', 'stuck-first', 'dir', 'only-ro', 'ro-and-b', 'nowhere']
for n in os.listdir(d): os.lstat(os.path.join(d, n))
for n in names:
    p = os.path.join(d, n)
    do('chown ' + n, lambda: os.chown(p, 1234, 5678))
    do('chgrp ' + n, lambda: os.chown(p, -1, 42))
    do('chmod ' + n, lambda: os.chmod(p, 0o751))
    do('utime ' + n, lambda: os.utime(p, ns=(1000000000, 2000000000)))
    def touch_m():
        if subprocess.run(['touch', '-m', '-d', '@3000', p], stderr=subprocess.DEVNULL).returncode: raise OSError(1, 'touch -m failed')
    do('touch-m ' + n, touch_m)
    # chown and chmod on an open file: the kernel sends them by node, not through the handle.
    if n in ('only-a', 'both'):
        fd = os.open(p, os.O_RDONLY)
        do('fchown ' + n, lambda: os.fchown(fd, 7, 8))
        do('fchmod ' + n, lambda: os.fchmod(fd, 0o640))
        os.close(fd)
do('lchown link', lambda: os.chown(os.path.join(d, 'link'), 9, 9, follow_symlinks=False))
# utime with the current time: only whether it moved on is recorded.
before = os.lstat(os.path.join(d, 'both')).st_mtime_ns
os.utime(os.path.join(d, 'both'))
out.append('now moved ' + str(os.lstat(os.path.join(d, 'both')).st_mtime_ns > before))
print('\\n'.join(out))
`;

/** Owner, mode and mtime of every entry of d on one branch. */
function copies(root: string): string[] {
  return readdirSync(join(root, 'd'))
    .sort()
    .map((n) => {
      const st = lstatSync(join(root, 'd', n), { bigint: true });
      // Only the fixed times the script set are compared (the others are when the test ran).
      return `${n} ${st.uid}:${st.gid} ${st.mode.toString(8)} ${st.mtimeNs < 10n ** 15n ? st.mtimeNs : 'now'}`;
    });
}

test('SETATTR of owner, mode and times answered in the addon: the same results and branch copies as JS answering it (epall over RW, RO and RW branches, with mixed results)', async (t) => {
  const results: string[] = [];
  const left: string[][][] = [];
  for (const addon of [true, false]) {
    const { a, r, b, immutable } = branches();
    t.teardown(() => {
      for (const f of immutable) spawnSync('chattr', ['-i', f]);
    });
    const options = ['cache.entry=0', 'cache.attr=0', 'category.create=ff', ...(addon ? [] : ['reader=thread'])];
    const m = await withMount(t, { source: `${a}:${r}=RO:${b}`, options });
    const run = spawnSync('python3', ['-c', SCRIPT, m.path()], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr);
    results.push(run.stdout);
    left.push([copies(a), copies(r), copies(b)]);
    const answered = (await addonAnswered(m)).get('SETATTR') ?? 0;
    if (addon) t.true(answered >= 20, `SETATTRs answered in the addon: ${answered}`);
    else t.is(answered, 0, 'with reader=thread JS answers every SETATTR');
  }
  t.is(results[0], results[1], 'the same results from the addon and from JS');
  t.deepEqual(left[0], left[1], 'the same owner, mode and times on every branch copy');
  const lines = results[0]!.split('\n');
  // What epall and the fold mean, spelled out.
  for (const want of [
    'chown both ok uid=1234 gid=5678 mode=100644 mtime=-1',
    'chmod dir ok uid=1234 gid=42 mode=40751 mtime=-1',
    'utime both ok uid=1234 gid=42 mode=100751 mtime=2000000000',
    'touch-m both ok uid=1234 gid=42 mode=100751 mtime=3000000000000',
    'chmod stuck-second ok uid=1234 gid=42 mode=100751 mtime=-1',
    'chmod stuck-first Operation not permitted',
    'chown only-ro Read-only file system',
    'chmod nowhere No such file or directory',
    'fchmod both ok uid=7 gid=8 mode=100640 mtime=3000000000000',
    'now moved True',
    'chown suid ok uid=1234 gid=5678 mode=100755 mtime=-1',
  ]) t.true(lines.includes(want), `${want}\n${results[0]}`);
  t.true(left[0]![2]!.includes('ro-and-b 1234:42 100751 3000000000000'), `the RW copy behind an RO one changes\n${left[0]![2]!.join('\n')}`);
});
