// A branch changed behind the mount's back must never lead outside it.
// The kernel caches `x` as a directory; on disk `x` becomes a symlink to /etc.
// A plain path walk would then serve /etc/passwd as x/passwd. braidfs
// resolves every directory part beneath the branch root without following
// symlinks (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so it refuses.
import test from 'ava';
import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, readdirSync, lstatSync } from 'node:fs';
import { withMount } from '../helpers/mount.js';

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

test('a directory swapped for a symlink on disk does not expose what it points to', async (t) => {
  const m = await withMount(t, { options: ['cache.entry=120', 'cache.attr=120'] });
  mkdirSync(m.path('x'));
  writeFileSync(m.path('x', 'inside'), 'in');
  t.true(statSync(m.path('x')).isDirectory());

  rmSync(m.src('x'), { recursive: true });
  symlinkSync('/etc', m.src('x'));

  for (const name of ['passwd', 'hostname']) {
    const c = code(() => readFileSync(m.path('x', name)));
    t.not(c, 'ok', `x/${name} must not be readable through the mount`);
  }
  t.not(code(() => writeFileSync(m.path('x', 'braidfs-escape-probe'), 'no')), 'ok');
  t.not(code(() => readdirSync(m.path('x'))), 'ok');
  // Once the kernel looks `x` up again it sees the symlink for what it is.
  process.kill(m.pid, 'SIGUSR1');
  await new Promise((r) => setTimeout(r, 300));
  t.true(lstatSync(m.path('x')).isSymbolicLink());
  t.false(code(() => statSync('/etc/braidfs-escape-probe')) === 'ok', 'nothing was created in /etc');
});

test('a file named like a path component cannot climb out with ..', async (t) => {
  const m = await withMount(t);
  mkdirSync(m.path('d'));
  // The kernel never sends ".." as a name to create; this checks the mount
  // behaves like a plain directory for the names it does send.
  t.is(code(() => writeFileSync(m.path('d', '..', 'top'), 't')), 'ok');
  t.is(readFileSync(m.src('top'), 'utf8'), 't');
});
