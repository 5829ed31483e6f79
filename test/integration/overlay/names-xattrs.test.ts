// Overlay mode, names and xattrs: `.wh.*` names cannot be made through the
// mount (after a remount they would act as whiteouts), overlay-private xattrs
// are invisible and unchangeable, statfs leaves room for the `.wh.` prefix in
// f_namemax, and a mount without upperdir is read-only.
//
// Layers are prepared by writing into the lower directories before mounting;
// the mount itself is only touched with ordinary syscalls (node:fs, mkfifo,
// stat, python3 for xattrs).
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { makeLayers, withOverlay, type OverlayLayout, type OverlayMounted, type OverlayProgram } from '../../helpers/overlay.js';
import { run } from '../util.js';

/** Which program mounts the layers. Always braidfs in the suite; 'fuse-overlayfs' only to sanity-check the tests themselves. */
const PROGRAM: OverlayProgram = (process.env['BRAIDFS_OVERLAY_TEST_PROGRAM'] as OverlayProgram | undefined) ?? 'braidfs';

type Layers = OverlayLayout & { base: string };

/** `n` lower layers (top first) plus upper and work unless readOnly; removed after the test (after the unmount: teardowns run last-in-first-out). */
function layers(t: ExecutionContext, n = 1, readOnly = false): Layers {
  const l = makeLayers(n, { readOnly });
  t.teardown(() => rmSync(l.base, { recursive: true, force: true }));
  return l;
}

const mount = (t: ExecutionContext, l: OverlayLayout): Promise<OverlayMounted> => withOverlay(t, l, { program: PROGRAM });

/** A setup command on the layers (never on the mount); throws when it fails. */
function sh(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

/** 'OK' when `fn` returns, else the error's code. */
function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    throw e;
  }
}

// One python3 process per batch of calls (starting python3 costs ~0.3 s on this VM).
const PY_XATTR = `
import errno, json, os, sys
out = []
for op, path, name, value in json.loads(sys.argv[1]):
    try:
        if op == 'list':
            r = sorted(os.listxattr(path, follow_symlinks=False))
        elif op == 'get':
            r = os.getxattr(path, name, follow_symlinks=False).decode('latin1')
        elif op == 'set':
            r = os.setxattr(path, name, value.encode('latin1'), follow_symlinks=False)
        elif op == 'remove':
            r = os.removexattr(path, name, follow_symlinks=False)
        else:
            r = os.mkfifo(path)
        out.append({'code': 'OK', 'value': r})
    except OSError as e:
        out.append({'code': errno.errorcode.get(e.errno, str(e.errno))})
print(json.dumps(out))
`;

type PyOp = 'list' | 'get' | 'set' | 'remove' | 'mkfifo';

interface PyResult {
  /** 'OK' or the errno name. */
  code: string;
  value?: string | string[] | null;
}

/** Xattr syscalls (lgetxattr, llistxattr, lsetxattr, lremovexattr, mkfifo) in one child process, in order; errno names as node spells them. */
async function pyBatch(calls: ReadonlyArray<readonly [PyOp, string, string?, string?]>): Promise<PyResult[]> {
  const arg = JSON.stringify(calls.map(([op, path, name, value]) => [op, path, name ?? '', value ?? '']));
  const r = await run('python3', ['-c', PY_XATTR, arg], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`python3 ${arg}: ${r.stderr}`);
  return JSON.parse(r.stdout) as PyResult[];
}

async function py(op: PyOp, path: string, name = '', value = ''): Promise<PyResult> {
  const [res] = await pyBatch([[op, path, name, value]]);
  return res!;
}

// --- .wh.* names ----------------------------------------------------------------------

interface ReservedOp {
  name: string;
  act: (m: OverlayMounted) => Promise<string> | string;
}

const RESERVED_OPS: ReservedOp[] = [
  { name: 'open(O_CREAT)', act: (m) => errnoOf(() => closeSync(openSync(m.path('.wh.f'), 'wx'))) },
  { name: 'mkdir', act: (m) => errnoOf(() => mkdirSync(m.path('.wh.f'))) },
  { name: 'mknod (fifo)', act: async (m) => (await py('mkfifo', m.path('.wh.f'))).code },
  { name: 'symlink', act: (m) => errnoOf(() => symlinkSync('f', m.path('.wh.f'))) },
  { name: 'link (target name)', act: (m) => errnoOf(() => linkSync(m.path('f'), m.path('.wh.f'))) },
  { name: 'rename (target name)', act: (m) => errnoOf(() => renameSync(m.path('f'), m.path('.wh.f'))) },
];

for (const op of RESERVED_OPS) {
  test.serial(`a .wh.* name is refused with EINVAL: ${op.name}`, async (t) => {
    const l = layers(t);
    writeFileSync(join(l.lowers[0]!, 'f'), 'lower f');
    const m = await mount(t, l);

    t.is(await op.act(m), 'EINVAL');

    t.false(existsSync(join(l.upper!, '.wh.f')), 'nothing named .wh.f in upper');
    t.deepEqual(readdirSync(m.mountpoint), ['f'], 'f still visible, nothing new');
    t.is(readFileSync(m.path('f'), 'latin1'), 'lower f');
    t.is(errnoOf(() => lstatSync(m.path('.wh.f'))), 'ENOENT');
  });
}

test.serial('stat of a .wh.* name answers ENOENT, also when a lower layer holds such a file', async (t) => {
  const l = layers(t, 2);
  writeFileSync(join(l.lowers[0]!, '.wh.gone'), '');
  writeFileSync(join(l.lowers[1]!, 'gone'), 'hidden');
  writeFileSync(join(l.lowers[1]!, '.wh.stray'), 'a .wh. file in the bottom layer');
  writeFileSync(join(l.lowers[1]!, 'f'), 'f');
  const m = await mount(t, l);

  for (const n of ['.wh.gone', '.wh.stray', '.wh.nothing', '.wh..wh..opq']) t.is(errnoOf(() => lstatSync(m.path(n))), 'ENOENT', n);
  t.deepEqual(readdirSync(m.mountpoint), ['f']);
});

// --- overlay-private xattrs -----------------------------------------------------------

const PRIVATE = ['user.overlay.foo', 'user.fuseoverlayfs.foo', 'trusted.overlay.foo', 'user.braidfs.foo'];

async function privateXattrFile(t: ExecutionContext): Promise<{ l: Layers; m: OverlayMounted; lower: string }> {
  const l = layers(t);
  const lower = join(l.lowers[0]!, 'f');
  writeFileSync(lower, 'data');
  for (const n of PRIVATE) sh('setfattr', '-n', n, '-v', 'private', lower);
  sh('setfattr', '-n', 'user.keep', '-v', 'kept', lower);
  const m = await mount(t, l);
  return { l, m, lower };
}

test.serial('listxattr through the mount shows only the non-private xattrs', async (t) => {
  const { m } = await privateXattrFile(t);
  t.deepEqual(
    await pyBatch([
      ['list', m.path('f')],
      ['get', m.path('f'), 'user.keep'],
    ]),
    [
      { code: 'OK', value: ['user.keep'] },
      { code: 'OK', value: 'kept' },
    ],
  );
});

test.serial('getxattr of overlay-private names answers ENODATA', async (t) => {
  const { m } = await privateXattrFile(t);
  const res = await pyBatch(PRIVATE.map((n) => ['get', m.path('f'), n] as const));
  for (const [i, n] of PRIVATE.entries()) t.is(res[i]?.code, 'ENODATA', n);
});

const REFUSED = ['user.overlay.opaque', 'trusted.overlay.x', 'user.fuseoverlayfs.x'];

test.serial('setxattr of overlay-private names answers EPERM', async (t) => {
  const { l, m } = await privateXattrFile(t);
  mkdirSync(m.path('d'));
  const calls = ['f', 'd'].flatMap((p) => REFUSED.map((n) => ({ p, n })));
  const res = await pyBatch(calls.map(({ p, n }) => ['set', m.path(p), n, 'y'] as const));
  for (const [i, { p, n }] of calls.entries()) t.is(res[i]?.code, 'EPERM', `${p}: ${n}`);
  t.is(spawnSync('getfattr', ['--absolute-names', '-n', 'user.overlay.opaque', join(l.upper!, 'd')]).status, 1, 'upper/d did not get user.overlay.opaque');
  t.deepEqual(await py('list', m.path('f')), { code: 'OK', value: ['user.keep'] });
});

test.serial('removexattr of overlay-private names answers EPERM', async (t) => {
  const { m, lower } = await privateXattrFile(t);
  const names = [...REFUSED, 'user.overlay.foo', 'user.fuseoverlayfs.foo', 'trusted.overlay.foo'];
  const res = await pyBatch([...names.map((n) => ['remove', m.path('f'), n] as const), ...PRIVATE.map((n) => ['get', lower, n] as const)]);
  for (const [i, n] of names.entries()) t.is(res[i]?.code, 'EPERM', n);
  for (const [i, n] of PRIVATE.entries()) t.deepEqual(res[names.length + i], { code: 'OK', value: 'private' }, `lower still has ${n}`);
});

// --- statfs ---------------------------------------------------------------------------

test.serial('statfs f_namemax through the mount is the upper filesystem’s minus 4 (room for .wh.)', async (t) => {
  const l = layers(t);
  const m = await mount(t, l);
  const namemax = async (p: string): Promise<number> => {
    const r = await run('stat', ['-f', '-c', '%l', p]);
    if (r.code !== 0) throw new Error(`stat -f ${p}: ${r.stderr}`);
    return Number(r.stdout.trim());
  };
  const upper = await namemax(l.upper!);
  t.is(await namemax(m.mountpoint), upper - 4);
  t.is(upper, 255, '/tmp is ext4 here');
});

// --- read-only mount ------------------------------------------------------------------

test.serial('without upperdir the mount is read-only: reads work, every change is EROFS', async (t) => {
  const l = layers(t, 2, true);
  writeFileSync(join(l.lowers[0]!, 'f'), 'top f');
  mkdirSync(join(l.lowers[1]!, 'd'));
  writeFileSync(join(l.lowers[1]!, 'd', 'g'), 'bottom g');
  writeFileSync(join(l.lowers[1]!, 'f'), 'bottom f');
  const m = await mount(t, l);

  t.is(readFileSync(m.path('f'), 'latin1'), 'top f');
  t.is(readFileSync(m.path('d', 'g'), 'latin1'), 'bottom g');
  t.deepEqual(readdirSync(m.mountpoint).sort(), ['d', 'f']);

  t.is(errnoOf(() => writeFileSync(m.path('new'), 'x')), 'EROFS', 'touch new');
  t.is(errnoOf(() => utimesSync(m.path('f'), 1, 1)), 'EROFS', 'touch existing');
  t.is(errnoOf(() => closeSync(openSync(m.path('f'), 'r+'))), 'EROFS', 'open for write');
  t.is(errnoOf(() => mkdirSync(m.path('nd'))), 'EROFS', 'mkdir');
  t.is(errnoOf(() => unlinkSync(m.path('f'))), 'EROFS', 'rm');
  t.is(errnoOf(() => rmSync(m.path('d'), { recursive: true })), 'EROFS', 'rm -r');
  t.is(errnoOf(() => chmodSync(m.path('f'), 0o600)), 'EROFS', 'chmod');
  t.is(errnoOf(() => renameSync(m.path('f'), m.path('f2'))), 'EROFS', 'rename');
  t.is((await py('set', m.path('f'), 'user.x', '1')).code, 'EROFS', 'setxattr');

  t.is(readFileSync(join(l.lowers[0]!, 'f'), 'latin1'), 'top f');
  t.deepEqual(readdirSync(l.lowers[0]!), ['f']);
  t.deepEqual(readdirSync(join(l.lowers[1]!, 'd')), ['g']);
});
