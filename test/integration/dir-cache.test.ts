// The daemon keeps a parent directory's fd for the length of one request
// (native parent-directory cache). A directory renamed or replaced on the
// branch between two requests must be seen as it is now, never through an
// fd opened for an earlier request.
import test from 'ava';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { withMount } from '../helpers/mount.js';
import { errnoOf } from './pool/fixture.js';

// No kernel caching: every access below reaches the daemon.
const uncached = ['cache.entry=0', 'cache.attr=0', 'cache.negative-entry=0', 'passthrough.io=off'];

test('a directory renamed on the branch between requests: the old path now names the new directory', async (t) => {
  const m = await withMount(t, { options: uncached });
  mkdirSync(m.path('d'));
  writeFileSync(m.path('d', 'f'), 'old');
  t.is(readFileSync(m.path('d', 'f'), 'utf8'), 'old');
  renameSync(m.src('d'), m.src('moved'));
  mkdirSync(m.src('d'));
  writeFileSync(m.src('d', 'f'), 'new');
  t.is(readFileSync(m.path('d', 'f'), 'utf8'), 'new');
  t.is(readFileSync(m.path('moved', 'f'), 'utf8'), 'old');
});

test('a directory removed on the branch between requests: its files are gone through the mount', async (t) => {
  const m = await withMount(t, { options: uncached });
  mkdirSync(m.path('d'));
  writeFileSync(m.path('d', 'f'), 'x');
  t.is(errnoOf(() => readFileSync(m.path('d', 'f'))), 'OK');
  rmSync(m.src('d'), { recursive: true });
  t.is(errnoOf(() => readFileSync(m.path('d', 'f'))), 'ENOENT');
});

test('a directory swapped for a symlink out of the branch between requests is not followed by the daemon', async (t) => {
  // The kernel keeps believing `d` is a directory (long entry timeout), so it
  // asks the daemon for d/passwd: the daemon must not walk through the symlink,
  // even though it opened `d` for the previous request.
  const m = await withMount(t, { options: ['cache.entry=120', 'cache.attr=120', 'passthrough.io=off'] });
  mkdirSync(m.path('d'));
  writeFileSync(m.path('d', 'passwd'), 'mine');
  t.is(readFileSync(m.path('d', 'passwd'), 'utf8'), 'mine');
  renameSync(m.src('d'), m.src('gone'));
  symlinkSync('/etc', m.src('d'));
  t.not(errnoOf(() => readFileSync(m.path('d', 'hostname'), 'utf8')), 'OK', 'd/hostname must not be readable');
});

test('a rename through the mount followed by lookups of both names, many times over', async (t) => {
  const m = await withMount(t, { options: uncached });
  for (let i = 0; i < 50; i++) {
    mkdirSync(m.path(`a${i}`));
    writeFileSync(m.path(`a${i}`, 'f'), `${i}`);
    renameSync(m.path(`a${i}`), m.path(`b${i}`));
    mkdirSync(m.path(`a${i}`));
    t.is(errnoOf(() => readFileSync(m.path(`a${i}`, 'f'))), 'ENOENT');
    t.is(readFileSync(m.path(`b${i}`, 'f'), 'utf8'), `${i}`);
  }
});
