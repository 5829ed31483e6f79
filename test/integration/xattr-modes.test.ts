// mergerfs's xattr= and security_capability= options on a real mount: each
// changes what a caller sees, and the runtime control file changes them live.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { withMount } from '../helpers/mount.js';

/** getfattr's value of `name` on `path`, or the error text it printed. */
function getfattr(path: string, name: string): { ok: boolean; out: string } {
  const r = spawnSync('getfattr', ['--only-values', '-n', name, path], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.status === 0 ? r.stdout : r.stderr };
}

function setfattr(path: string, name: string, value: string): { ok: boolean; err: string } {
  const r = spawnSync('setfattr', ['-n', name, '-v', value, path], { encoding: 'utf8' });
  return { ok: r.status === 0, err: r.stderr };
}

function setcapOnBranch(path: string): void {
  // security.capability in its VFS v2 form (cap_net_raw+ep): 20 bytes.
  const r = spawnSync('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`setfattr security.capability: ${r.stderr}`);
}

test('xattr=passthrough (default) reads and writes branch xattrs; security-capability=true passes security.capability through', async (t) => {
  const m = await withMount(t);
  writeFileSync(m.src('f'), 'x');
  t.true(setfattr(m.path('f'), 'user.k', 'v').ok);
  t.deepEqual(getfattr(m.path('f'), 'user.k'), { ok: true, out: 'v' });
  setcapOnBranch(m.src('f'));
  t.true(getfattr(m.path('f'), 'security.capability').ok, 'the capability is seen through the mount');
});

test('security-capability=false: security.capability reads as absent (the branch keeps it); other xattrs still pass', async (t) => {
  const m = await withMount(t, { options: ['security-capability=false'] });
  writeFileSync(m.src('f'), 'x');
  setcapOnBranch(m.src('f'));
  const r = getfattr(m.path('f'), 'security.capability');
  t.false(r.ok);
  t.regex(r.out, /No such attribute/);
  t.true(getfattr(m.src('f'), 'security.capability').ok, 'still on the branch');
  t.true(setfattr(m.path('f'), 'user.k', 'v').ok);
  t.deepEqual(getfattr(m.path('f'), 'user.k'), { ok: true, out: 'v' });
});

test('xattr=noattr: every xattr call answers "no such attribute", nothing reaches the branch; switching back at run time restores them', async (t) => {
  const m = await withMount(t, { options: ['xattr=noattr'] });
  writeFileSync(m.src('f'), 'x');
  t.is(setfattr(m.src('f'), 'user.there', 'yes').ok, true);
  t.regex(getfattr(m.path('f'), 'user.there').out, /No such attribute/);
  t.false(setfattr(m.path('f'), 'user.new', 'v').ok);
  t.false(getfattr(m.src('f'), 'user.new').ok, 'nothing written to the branch');
  // The runtime control file still answers under noattr, and turns it off.
  t.true(setfattr(m.path('.braidfs'), 'user.braidfs.xattr', 'passthrough').ok);
  t.deepEqual(getfattr(m.path('f'), 'user.there'), { ok: true, out: 'yes' });
});

test('xattr=nosys: xattr calls are not supported through the mount (runtime control included)', async (t) => {
  const m = await withMount(t, { options: ['xattr=nosys'] });
  writeFileSync(m.src('f'), 'x');
  setfattr(m.src('f'), 'user.there', 'yes');
  t.regex(getfattr(m.path('f'), 'user.there').out, /Operation not supported/);
  t.regex(getfattr(m.path('.braidfs'), 'user.braidfs.version').out, /Operation not supported/);
});
