import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatBranches, isGlob, parseBranches } from '../../src/union/branch-spec.js';
import type { BranchSpec } from '../../src/union/branch-spec.js';

const G = 1024 ** 3;

/**
 * A throwaway tree:
 *   disk1/ disk2/ disk10/ (dirs)   disk3 (a file)   disk4 -> disk1 (symlink)
 *   .hidden/   pool/hdd/a/  pool/hdd/b/  pool/ssd/a/  pool/ssd/x (file)
 *   eq=dir/   star*dir/   empty/
 */
const root = mkdtempSync(path.join(tmpdir(), 'braidfs-branch-spec-'));
for (const d of ['disk1', 'disk2', 'disk10', '.hidden', 'pool/hdd/a', 'pool/hdd/b', 'pool/ssd/a', 'eq=dir', 'star*dir', 'empty']) {
  mkdirSync(path.join(root, d), { recursive: true });
}
writeFileSync(path.join(root, 'disk3'), 'not a directory');
writeFileSync(path.join(root, 'pool/ssd/x'), 'file');
symlinkSync(path.join(root, 'disk1'), path.join(root, 'disk4'));

test.after.always(() => {
  rmSync(root, { recursive: true, force: true });
});

const p = (...parts: string[]) => path.join(root, ...parts);
const paths = (specs: BranchSpec[]) => specs.map((s) => s.path);

test('a single path defaults to RW with no own minfreespace', (t) => {
  t.deepEqual(parseBranches('/mnt/a'), [{ path: '/mnt/a', mode: 'RW', minFreeSpace: undefined, fromGlob: undefined }]);
});

test('modes and per-branch minfreespace', (t) => {
  t.deepEqual(parseBranches('/a=RW:/b=RO,10G:/c=NC,512M:/d'), [
    { path: '/a', mode: 'RW', minFreeSpace: undefined, fromGlob: undefined },
    { path: '/b', mode: 'RO', minFreeSpace: 10 * G, fromGlob: undefined },
    { path: '/c', mode: 'NC', minFreeSpace: 512 * 1024 ** 2, fromGlob: undefined },
    { path: '/d', mode: 'RW', minFreeSpace: undefined, fromGlob: undefined },
  ]);
});

test('the size suffix is case-insensitive, the mode is not', (t) => {
  t.is(parseBranches('/a=RW,4g')[0]?.minFreeSpace, 4 * G);
  for (const bad of ['rw', 'Rw', 'ro', 'nc', 'RX', 'READONLY', '']) {
    t.throws(() => parseBranches(`/a=${bad}`), { message: /expected RW, RO or NC/ }, bad);
  }
});

test('paths are split from the mode at the LAST "="', (t) => {
  t.deepEqual(parseBranches('/mnt/a=b=RO'), [{ path: '/mnt/a=b', mode: 'RO', minFreeSpace: undefined, fromGlob: undefined }]);
  t.deepEqual(parseBranches('/x=y=z=NC,1K'), [{ path: '/x=y=z', mode: 'NC', minFreeSpace: 1024, fromGlob: undefined }]);
  // Without an explicit mode, the text after the last '=' is taken as the mode.
  const e = t.throws(() => parseBranches('/mnt/a=b'));
  t.regex(e?.message ?? '', /invalid branch mode 'b' in '\/mnt\/a=b'/);
  t.regex(e?.message ?? '', /'\/mnt\/a=b=RW'/, 'the message shows how to write it');
});

test('relative paths are resolved against cwd, and normalised', (t) => {
  t.deepEqual(paths(parseBranches('a:../b:./c/=RO:/abs//d/', '/base/dir')), ['/base/dir/a', '/base/b', '/base/dir/c', '/abs/d']);
  t.is(parseBranches('x')[0]?.path, path.resolve('x'));
});

test('non-glob paths are kept whether or not they exist, and are not checked', (t) => {
  t.deepEqual(paths(parseBranches(`${p('missing')}:${p('disk3')}`)), [p('missing'), p('disk3')]);
});

test('errors: empty list, empty items, empty path, bad size, extra options', (t) => {
  t.throws(() => parseBranches(''), { message: /empty branch list/ });
  t.throws(() => parseBranches('/a::/b'), { message: /empty branch at position 2 in '\/a::\/b'/ });
  t.throws(() => parseBranches(':/a'), { message: /empty branch at position 1/ });
  t.throws(() => parseBranches('/a:'), { message: /empty branch at position 2/ });
  t.throws(() => parseBranches(':'), { message: /empty branch/ });
  t.throws(() => parseBranches('=RW'), { message: /'=RW' has an empty path/ });
  t.throws(() => parseBranches('/a=RW,'), { message: /invalid minfreespace in branch '\/a=RW,'.*invalid size ''/ });
  t.throws(() => parseBranches('/a=RW,4Q'), { message: /invalid minfreespace in branch '\/a=RW,4Q'.*'4Q'/ });
  t.throws(() => parseBranches('/a=RW,1G,2G'), { message: /invalid branch options 'RW,1G,2G'/ });
  t.throws(() => parseBranches('/a=,1G'), { message: /invalid branch mode ''/ });
  t.throws(() => parseBranches('/a='), { message: /invalid branch mode ''/ });
});

test('isGlob: *, ? and [ make a glob', (t) => {
  t.true(isGlob('/mnt/disk*'));
  t.true(isGlob('/mnt/disk?'));
  t.true(isGlob('/mnt/disk[12]'));
  t.false(isGlob('/mnt/disk1'));
  t.false(isGlob('/mnt/{a,b}'));
});

test('glob: expands to existing directories only, sorted, skipping files', (t) => {
  const got = parseBranches(`${p('disk*')}=NC,1G`);
  t.deepEqual(paths(got), [p('disk1'), p('disk10'), p('disk2'), p('disk4')], 'disk3 is a file; disk4 is a symlink to a dir');
  for (const b of got) {
    t.is(b.mode, 'NC');
    t.is(b.minFreeSpace, G);
    t.is(b.fromGlob, p('disk*'));
    t.is(b.unmatchedGlob, undefined);
  }
});

test('glob: ? and [...] classes', (t) => {
  t.deepEqual(paths(parseBranches(p('disk?'))), [p('disk1'), p('disk2'), p('disk4')]);
  t.deepEqual(paths(parseBranches(p('disk[2-3]'))), [p('disk2')], 'disk3 matches but is a file');
  t.deepEqual(paths(parseBranches(p('disk[!1]'))), [p('disk2'), p('disk4')]);
});

test('glob: * does not match a leading dot', (t) => {
  t.false(paths(parseBranches(p('*'))).includes(p('.hidden')));
  t.deepEqual(paths(parseBranches(p('.hid*'))), [p('.hidden')]);
});

test('glob: nested patterns, with magic in several segments and literal tails', (t) => {
  t.deepEqual(paths(parseBranches(p('pool', '*', 'a'))), [p('pool/hdd/a'), p('pool/ssd/a')]);
  t.deepEqual(paths(parseBranches(p('pool', '*', '*'))), [p('pool/hdd/a'), p('pool/hdd/b'), p('pool/ssd/a')], 'pool/ssd/x is a file');
  t.deepEqual(paths(parseBranches(p('po?l', 'h*', 'b'))), [p('pool/hdd/b')]);
  t.deepEqual(paths(parseBranches(`${p('pool', '*')}/`)), [p('pool/hdd'), p('pool/ssd')], 'trailing slash');
  t.deepEqual(paths(parseBranches(p('pool', '*', '..', 'ssd'))), [p('pool/ssd')], '.. after a glob, deduplicated');
});

test('glob: ** is just *, braces and extglobs are literal (glob(3) rules)', (t) => {
  t.deepEqual(paths(parseBranches(p('pool', '**', 'a'))), [p('pool/hdd/a'), p('pool/ssd/a')]);
  const braces = parseBranches(p('disk{1,2}*'));
  t.deepEqual(paths(braces), [p('disk{1,2}*')], 'no brace expansion: nothing matches');
  t.true(braces[0]?.unmatchedGlob);
});

test('glob: relative patterns are expanded from cwd', (t) => {
  t.deepEqual(paths(parseBranches('disk[12]:pool/s*', root)), [p('disk1'), p('disk2'), p('pool/ssd')]);
  t.is(parseBranches('disk[12]', root)[0]?.fromGlob, 'disk[12]', 'fromGlob is the pattern as written');
});

test('glob: a pattern matching nothing is kept literally and flagged', (t) => {
  const got = parseBranches(`${p('nothing*')}=RO,1K:${p('disk1')}`);
  t.deepEqual(got, [
    { path: p('nothing*'), mode: 'RO', minFreeSpace: 1024, fromGlob: p('nothing*'), unmatchedGlob: true },
    { path: p('disk1'), mode: 'RW', minFreeSpace: undefined, fromGlob: undefined },
  ]);
  t.true(parseBranches(p('disk3*'))[0]?.unmatchedGlob, 'matching only a file counts as nothing');
  t.true(parseBranches('/nonexistent-braidfs-dir/*')[0]?.unmatchedGlob, 'a missing static prefix');
  t.deepEqual(paths(parseBranches('rel*', root)), [p('rel*')], 'kept as an absolute path');
});

test('glob: escaped and literal glob characters in directory names', (t) => {
  t.deepEqual(paths(parseBranches(p('star\\*dir'))), [p('star*dir')], 'an escaped * matches only itself');
  t.deepEqual(paths(parseBranches(p('star*'))), [p('star*dir')]);
});

test('glob: "=" inside a globbed path', (t) => {
  t.deepEqual(parseBranches(`${p('eq=d*')}=RO`), [{ path: p('eq=dir'), mode: 'RO', minFreeSpace: undefined, fromGlob: p('eq=d*') }]);
});

test('glob: expansion order follows the items, each item sorted', (t) => {
  t.deepEqual(paths(parseBranches(`${p('pool/s*')}:${p('disk[21]')}:${p('empty')}`)), [p('pool/ssd'), p('disk1'), p('disk2'), p('empty')]);
});

test('formatBranches: mergerfs form, always with the mode', (t) => {
  t.is(
    formatBranches([
      { path: '/a', mode: 'RW', minFreeSpace: undefined },
      { path: '/b', mode: 'RO', minFreeSpace: 10 * G },
      { path: '/c', mode: 'NC', minFreeSpace: 1536 },
    ]),
    '/a=RW:/b=RO,10G:/c=NC,1536',
  );
  t.is(formatBranches([]), '');
});

test('formatBranches round-trips through parseBranches', (t) => {
  for (const s of ['/a=RW:/b=RO,10G', '/mnt/a=b=RO:/x=NC,1K', '/c=RW,0', '/d=RO,3T']) {
    t.is(formatBranches(parseBranches(s)), s);
  }
  const specs = parseBranches(`/p=q=NC,1M:${p('disk[12]')}=RO`);
  t.deepEqual(parseBranches(formatBranches(specs)).map(({ path, mode, minFreeSpace }) => ({ path, mode, minFreeSpace })),
    specs.map(({ path, mode, minFreeSpace }) => ({ path, mode, minFreeSpace })));
});

test('formatBranches: refuses what the syntax cannot express', (t) => {
  t.throws(() => formatBranches([{ path: '/a:b', mode: 'RW', minFreeSpace: undefined }]), { message: /contains ':'/ });
  t.throws(() => formatBranches([{ path: '', mode: 'RW', minFreeSpace: undefined }]), { message: /empty path/ });
});
