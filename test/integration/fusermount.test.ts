// Not privileged: braidfs run as uid 65534 cannot open /dev/fuse or call
// mount(2), so it mounts through the setuid fusermount3 helper, which hands
// the /dev/fuse fd back over a socket (SCM_RIGHTS). Distributions ship
// /dev/fuse as 0666; where it is 0600 (this VM) the test opens it up for its
// own duration and puts the mode back.
import test from 'ava';
import { chmodSync, chownSync, readFileSync, statSync, rmSync } from 'node:fs';
import { braidfsBin, forceUnmount, isMounted, makeTempDir } from '../helpers/mount.js';
import { run } from './util.js';

const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];

test('an unprivileged user mounts through fusermount3 and unmounts with fusermount3 -u', async (t) => {
  const src = makeTempDir('braidfs-src-');
  const mnt = makeTempDir('braidfs-mnt-');
  chownSync(src, 65534, 65534);
  chownSync(mnt, 65534, 65534);
  const devMode = statSync('/dev/fuse').mode & 0o777;
  if ((devMode & 0o006) !== 0o006) chmodSync('/dev/fuse', 0o666);
  t.teardown(async () => {
    chmodSync('/dev/fuse', devMode);
    await run('setpriv', [...asNobody, 'fusermount3', '-u', mnt], { timeoutMs: 10_000 });
    await forceUnmount(mnt);
    rmSync(src, { recursive: true, force: true });
    rmSync(mnt, { recursive: true, force: true });
  });

  const up = await run('setpriv', [...asNobody, braidfsBin, src, mnt], { timeoutMs: 20_000, cwd: '/tmp' });
  t.is(up.code, 0, up.stderr);
  t.true(isMounted(mnt));
  const mountLine = readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt) ?? '';
  t.regex(mountLine, /fuse\.braidfs .*user_id=65534/);

  const io = await run('setpriv', [...asNobody, 'sh', '-c', `echo one > ${mnt}/a && echo two >> ${mnt}/a && cat ${mnt}/a && mkdir ${mnt}/d && ls ${mnt}`]);
  t.is(io.code, 0, io.stderr);
  t.is(io.stdout, 'one\ntwo\na\nd\n');
  t.is(readFileSync(`${src}/a`, 'utf8'), 'one\ntwo\n');
  t.is(statSync(`${src}/a`).uid, 65534);

  const down = await run('setpriv', [...asNobody, 'fusermount3', '-u', mnt], { timeoutMs: 10_000 });
  t.is(down.code, 0, down.stderr);
  t.false(isMounted(mnt));
  const gone = await run('pgrep', ['-f', `braidfs.*${mnt}`]);
  for (let i = 0; i < 50 && gone.code === 0; i++) await new Promise((r) => setTimeout(r, 100));
  t.not((await run('pgrep', ['-f', `braidfs.*${mnt}`])).code, 0, 'the daemon exited after unmount');
});
