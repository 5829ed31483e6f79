// Overlay mode, copy-up: which operations on a lower-only file copy it into
// the upper layer, what the copy keeps, and what happens around a copy-up
// (descriptors opened before it, several processes racing to trigger it,
// leftovers of a copy-up interrupted by a crash).
//
// Layers are prepared by writing into the lower directories before mounting;
// the mount itself is only touched with ordinary syscalls (node:fs, sh,
// touch, fallocate, python3 for xattrs). The upper and lower directories are
// inspected directly to see where things landed.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { join } from 'node:path';
import { makeLayers, withOverlay, type OverlayLayout, type OverlayMounted, type OverlayProgram } from '../../helpers/overlay.js';
import { run } from '../util.js';

/** Which program mounts the layers. Always braidfs in the suite; 'fuse-overlayfs' only to sanity-check the tests themselves. */
const PROGRAM: OverlayProgram = (process.env['BRAIDFS_OVERLAY_TEST_PROGRAM'] as OverlayProgram | undefined) ?? 'braidfs';

type Layers = OverlayLayout & { base: string; upper: string; work: string; lower: string };

/** One lower layer plus upper and work; removed after the test (after the unmount: teardowns run last-in-first-out). */
function layers(t: ExecutionContext): Layers {
  const l = makeLayers(1);
  t.teardown(() => rmSync(l.base, { recursive: true, force: true }));
  return { ...l, upper: l.upper!, work: l.work!, lower: l.lowers[0]! };
}

const mount = (t: ExecutionContext, l: OverlayLayout): Promise<OverlayMounted> => withOverlay(t, l, { program: PROGRAM });

/** A setup command on the layers (never on the mount); throws when it fails. */
function sh(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

/** A command on the mount (async: never blocks the test process while the daemon works); throws when it fails. */
async function shm(cmd: string, ...args: string[]): Promise<void> {
  const r = await run(cmd, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code ?? r.signal}): ${r.stderr}`);
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
        else:
            r = os.removexattr(path, name, follow_symlinks=False)
        out.append({'code': 'OK', 'value': r})
    except OSError as e:
        out.append({'code': errno.errorcode.get(e.errno, str(e.errno))})
print(json.dumps(out))
`;

type PyOp = 'list' | 'get' | 'set' | 'remove';

interface PyResult {
  /** 'OK' or the errno name. */
  code: string;
  value?: string | string[] | null;
}

/** Xattr syscalls (lgetxattr, llistxattr, lsetxattr, lremovexattr) in one child process, in order; errno names as node spells them. */
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

/** Names of the xattrs on a path outside the mount, sorted (getfattr: quicker than starting python3). */
function xattrNames(path: string): string[] {
  const r = spawnSync('getfattr', ['--absolute-names', '-m', '-', path], { encoding: 'latin1' });
  if (r.status !== 0) throw new Error(`getfattr ${path}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('# file:'))
    .sort();
}

const lst = (p: string): BigIntStats | undefined => lstatSync(p, { bigint: true, throwIfNoEntry: false });

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

const ORIG = 'lower contents: line one\nline two\n';
const LOWER_TIME = '2005-06-07 08:09:10.111222333';

interface Snapshot {
  content: string;
  size: bigint;
  mode: bigint;
  uid: bigint;
  gid: bigint;
  mtimeNs: bigint;
  xattrs: string[];
}

function snapshot(p: string): Snapshot {
  const st = lstatSync(p, { bigint: true });
  return { content: readFileSync(p, 'latin1'), size: st.size, mode: st.mode, uid: st.uid, gid: st.gid, mtimeNs: st.mtimeNs, xattrs: xattrNames(p) };
}

// --- copy-up triggers ---------------------------------------------------------------

interface Trigger {
  name: string;
  /** Extra preparation of lower/f before mounting. */
  prep?: (lowerFile: string) => void;
  act: (m: OverlayMounted) => Promise<void> | void;
  /** Upper path (relative) that must hold the copy; default 'f'. */
  upperName?: string;
  /** Expected contents of the copy. */
  expect: string;
  /** `upper`: lstat of the copy, taken before anything reads it (reading moves atime). */
  check?: (t: ExecutionContext, l: Layers, m: OverlayMounted, upper: BigIntStats) => Promise<void> | void;
}

const TRIGGERS: Trigger[] = [
  {
    name: 'open O_WRONLY',
    act: (m) => closeSync(openSync(m.path('f'), constants.O_WRONLY)),
    expect: ORIG,
  },
  {
    name: 'open O_RDWR',
    act: (m) => closeSync(openSync(m.path('f'), constants.O_RDWR)),
    expect: ORIG,
  },
  {
    name: 'open O_APPEND (and write)',
    act: (m) => {
      const fd = openSync(m.path('f'), constants.O_WRONLY | constants.O_APPEND);
      try {
        writeSync(fd, 'appended\n');
      } finally {
        closeSync(fd);
      }
    },
    expect: `${ORIG}appended\n`,
  },
  {
    name: 'open O_TRUNC',
    act: (m) => closeSync(openSync(m.path('f'), constants.O_WRONLY | constants.O_TRUNC)),
    expect: '',
  },
  {
    name: 'truncate',
    act: (m) => truncateSync(m.path('f'), 5),
    expect: ORIG.slice(0, 5),
  },
  {
    name: 'chmod',
    act: (m) => chmodSync(m.path('f'), 0o600),
    expect: ORIG,
    check: (t, l) => t.is(Number(lstatSync(join(l.upper, 'f')).mode & 0o7777), 0o600),
  },
  {
    name: 'chown',
    act: (m) => chownSync(m.path('f'), 1000, 2000),
    expect: ORIG,
    check: (t, l) => {
      const st = lstatSync(join(l.upper, 'f'));
      t.deepEqual([st.uid, st.gid], [1000, 2000]);
    },
  },
  {
    name: 'utimes (touch -d)',
    act: (m) => shm('touch', '-d', '2010-01-02 03:04:05.5', m.path('f')),
    expect: ORIG,
    check: (t, _l, _m, st) => {
      const want = BigInt(Date.parse('2010-01-02T03:04:05.500')) * 1_000_000n;
      t.is(st.mtimeNs, want);
      t.is(st.atimeNs, want);
    },
  },
  {
    name: 'setxattr user.x',
    act: async (m) => {
      const r = await py('set', m.path('f'), 'user.x', 'val');
      if (r.code !== 'OK') throw new Error(`setxattr: ${r.code}`);
    },
    expect: ORIG,
    check: async (t, l) => t.deepEqual(await py('get', join(l.upper, 'f'), 'user.x'), { code: 'OK', value: 'val' }),
  },
  {
    name: 'removexattr of a user xattr set in the lower layer',
    prep: (f) => sh('setfattr', '-n', 'user.gone', '-v', 'bye', f),
    act: async (m) => {
      const r = await py('remove', m.path('f'), 'user.gone');
      if (r.code !== 'OK') throw new Error(`removexattr: ${r.code}`);
    },
    expect: ORIG,
    check: async (t, l, m) => {
      const [up, mnt, low] = await pyBatch([
        ['get', join(l.upper, 'f'), 'user.gone'],
        ['get', m.path('f'), 'user.gone'],
        ['get', join(l.lower, 'f'), 'user.gone'],
      ]);
      t.is(up?.code, 'ENODATA', 'gone from the copy');
      t.is(mnt?.code, 'ENODATA', 'gone through the mount');
      t.deepEqual(low, { code: 'OK', value: 'bye' }, 'still on the lower file');
    },
  },
  {
    name: 'fallocate',
    act: (m) => shm('fallocate', '-o', '0', '-l', '8192', m.path('f')),
    expect: ORIG + '\0'.repeat(8192 - ORIG.length),
  },
  {
    name: 'link() source',
    act: (m) => linkSync(m.path('f'), m.path('g')),
    expect: ORIG,
    check: (t, l, m) => {
      const f = lstatSync(join(l.upper, 'f'));
      const g = lstatSync(join(l.upper, 'g'));
      t.is(g.ino, f.ino, 'the new name is a hard link to the copy in upper');
      t.is(readFileSync(m.path('g'), 'latin1'), ORIG);
      t.is(statSync(m.path('f')).nlink, 2);
    },
  },
  {
    name: 'rename source',
    act: (m) => renameSync(m.path('f'), m.path('g')),
    upperName: 'g',
    expect: ORIG,
    check: (t, _l, m) => {
      t.is(errnoOf(() => lstatSync(m.path('f'))), 'ENOENT');
      t.is(readFileSync(m.path('g'), 'latin1'), ORIG);
      t.false(readdirSync(m.mountpoint).includes('f'));
    },
  },
];

for (const tr of TRIGGERS) {
  test.serial(`copy-up on ${tr.name}: the copy lands in upper, the lower file is untouched`, async (t) => {
    const l = layers(t);
    const lf = join(l.lower, 'f');
    writeFileSync(lf, ORIG);
    chmodSync(lf, 0o644);
    sh('touch', '-d', LOWER_TIME, lf);
    tr.prep?.(lf);
    const before = snapshot(lf);
    const m = await mount(t, l);
    t.false(existsSync(join(l.upper, 'f')), 'nothing copied up by mounting');

    await tr.act(m);

    const up = join(l.upper, tr.upperName ?? 'f');
    const ust = lst(up);
    if (!ust?.isFile()) return t.fail(`${tr.upperName ?? 'f'} is not a regular file in upper`);
    t.is(readFileSync(up, 'latin1'), tr.expect, 'contents of the copy');
    t.deepEqual(snapshot(lf), before, 'lower file unchanged (contents, size, mode, owner, mtime, xattrs)');
    await tr.check?.(t, l, m, ust);
  });
}

test.serial('read-only access does not copy up: open O_RDONLY, read, stat, readdir, getxattr, listxattr', async (t) => {
  const l = layers(t);
  mkdirSync(join(l.lower, 'd'));
  writeFileSync(join(l.lower, 'd', 'f'), ORIG);
  sh('setfattr', '-n', 'user.a', '-v', '1', join(l.lower, 'd', 'f'));
  const m = await mount(t, l);

  t.is(readFileSync(m.path('d', 'f'), 'latin1'), ORIG);
  const fd = openSync(m.path('d', 'f'), constants.O_RDONLY);
  closeSync(fd);
  statSync(m.path('d', 'f'));
  t.deepEqual(readdirSync(m.path('d')), ['f']);
  t.deepEqual(
    await pyBatch([
      ['get', m.path('d', 'f'), 'user.a'],
      ['list', m.path('d', 'f')],
    ]),
    [
      { code: 'OK', value: '1' },
      { code: 'OK', value: ['user.a'] },
    ],
  );

  t.deepEqual(readdirSync(l.upper), [], 'upper stays empty');
});

test.serial('creating a file in a lower-only directory copies the parent chain up with the same mode, owner and mtime', async (t) => {
  const l = layers(t);
  const dirs = ['a', 'a/b', 'a/b/c'];
  const modes = [0o751, 0o705, 0o770];
  mkdirSync(join(l.lower, 'a/b/c'), { recursive: true });
  writeFileSync(join(l.lower, 'a/b/c/old'), 'old');
  for (const [i, d] of dirs.entries()) {
    chmodSync(join(l.lower, d), modes[i]!);
    chownSync(join(l.lower, d), 1234 + i, 5678 + i);
  }
  // deepest first, so setting a child's times does not move its parent's
  for (const [i, d] of [...dirs.entries()].reverse()) sh('touch', '-d', `200${i + 1}-02-03 04:05:06.12345678${i}`, join(l.lower, d));
  const lowerSt = dirs.map((d) => lstatSync(join(l.lower, d), { bigint: true }));
  const m = await mount(t, l);

  writeFileSync(m.path('a/b/c/new'), 'new');

  t.is(readFileSync(join(l.upper, 'a/b/c/new'), 'latin1'), 'new', 'the new file is in upper');
  for (const [i, d] of dirs.entries()) {
    const u = lst(join(l.upper, d));
    if (!u?.isDirectory()) {
      t.fail(`${d} missing from upper, or not a directory`);
      continue;
    }
    const lo = lowerSt[i]!;
    t.is(u.mode, lo.mode, `${d}: mode`);
    t.deepEqual([u.uid, u.gid], [lo.uid, lo.gid], `${d}: owner`);
    // the innermost one got a new entry, so its mtime moved on
    if (d !== 'a/b/c') t.is(u.mtimeNs, lo.mtimeNs, `${d}: mtime`);
  }
  t.false(existsSync(join(l.upper, 'a/b/c/old')), 'sibling files are not copied up');
  t.deepEqual(readdirSync(m.path('a/b/c')).sort(), ['new', 'old']);
  for (const [i, d] of dirs.entries()) t.is(lstatSync(join(l.lower, d), { bigint: true }).mtimeNs, lowerSt[i]!.mtimeNs, `lower ${d} untouched`);
});

// --- what a copy keeps ----------------------------------------------------------------

test.serial('copy-up keeps size, mode, owner, atime/mtime to the nanosecond and user xattrs; trusted.overlay.* stays behind', async (t) => {
  const l = layers(t);
  const lf = join(l.lower, 'f');
  const data = Buffer.alloc(300_001);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
  writeFileSync(lf, data);
  sh('chown', '1234:5678', lf);
  chmodSync(lf, 0o4751); // after chown, which clears set-id bits
  sh('setfattr', '-n', 'user.a', '-v', 'alpha', lf);
  sh('setfattr', '-n', 'user.b', '-v', '0x00ff10', lf);
  sh('setfattr', '-n', 'trusted.overlay.foo', '-v', 'private', lf);
  sh('touch', '-d', '2001-02-03 04:05:06.123456789', lf);
  const lo = lstatSync(lf, { bigint: true });
  t.is(lo.mtimeNs % 1_000_000_000n, 123456789n, 'the lower file really has nanoseconds');
  const m = await mount(t, l);

  const r = await py('set', m.path('f'), 'user.t', '1');
  t.is(r.code, 'OK');

  const up = join(l.upper, 'f');
  const u = lst(up);
  if (!u) return t.fail('f was not copied up');
  t.is(u.size, lo.size, 'size');
  t.is(u.mode, lo.mode, 'mode (set-uid bit included)');
  t.deepEqual([u.uid, u.gid], [1234n, 5678n], 'owner');
  t.is(u.mtimeNs, lo.mtimeNs, 'mtime');
  t.is(u.atimeNs, lo.atimeNs, 'atime');
  t.true(readFileSync(up).equals(data), 'data');
  const [a, b, tt, priv] = await pyBatch([
    ['get', up, 'user.a'],
    ['get', up, 'user.b'],
    ['get', up, 'user.t'],
    ['get', up, 'trusted.overlay.foo'],
  ]);
  t.deepEqual(a, { code: 'OK', value: 'alpha' }, 'user.a');
  t.deepEqual(b, { code: 'OK', value: '\x00\xff\x10' }, 'user.b');
  t.deepEqual(tt, { code: 'OK', value: '1' }, 'user.t');
  t.is(priv?.code, 'ENODATA', 'overlay-private xattr not copied');

  const v = statSync(m.path('f'), { bigint: true });
  t.deepEqual([v.size, v.mode, v.uid, v.gid, v.mtimeNs], [lo.size, lo.mode, lo.uid, lo.gid, lo.mtimeNs], 'the mount shows the same');
});

// --- around a copy-up -----------------------------------------------------------------

test.serial('a descriptor opened on the lower file before a copy-up stays valid and keeps reading the old data', async (t) => {
  const l = layers(t);
  writeFileSync(join(l.lower, 'f'), ORIG);
  const m = await mount(t, l);

  const fd1 = openSync(m.path('f'), constants.O_RDONLY);
  try {
    let fd2: number;
    try {
      fd2 = openSync(m.path('f'), constants.O_RDWR);
    } catch (e) {
      return t.fail(`open O_RDWR while a read-only descriptor from before the copy-up is open: ${(e as NodeJS.ErrnoException).code}`);
    }
    try {
      t.is(writeSync(fd2, 'NEW DATA', 0), 8);
    } finally {
      closeSync(fd2);
    }
    t.true(existsSync(join(l.upper, 'f')), 'copied up');
    const buf = Buffer.alloc(4096);
    let n = -1;
    t.is(
      errnoOf(() => (n = readSync(fd1, buf, 0, buf.length, 0))),
      'OK',
      'the old descriptor still reads',
    );
    t.is(buf.subarray(0, Math.max(n, 0)).toString('latin1'), ORIG, 'old descriptor reads the lower contents');
  } finally {
    closeSync(fd1);
  }
  t.is(readFileSync(m.path('f'), 'latin1'), `NEW DATA${ORIG.slice(8)}`, 'a new open sees the copy');
  t.is(readFileSync(join(l.lower, 'f'), 'latin1'), ORIG);
});

test.serial('8 processes appending to one lower file at once: one copy-up, every line once', async (t) => {
  const l = layers(t);
  // big enough that the copy-up takes a moment and the appenders overlap it
  const orig = 'x'.repeat(1023).concat('\n').repeat(8 * 1024);
  writeFileSync(join(l.lower, 'f'), orig);
  const m = await mount(t, l);

  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => run('sh', ['-c', `echo line${i} >> "$1"`, 'sh', m.path('f')], { timeoutMs: 60_000 })),
  );
  for (const [i, r] of results.entries()) t.is(r.code, 0, `appender ${i}: ${r.stderr}`);

  for (const [where, p] of [
    ['upper', join(l.upper, 'f')],
    ['mount', m.path('f')],
  ] as const) {
    const got = readFileSync(p, 'latin1');
    t.true(got.startsWith(orig), `${where}: starts with the original contents (length ${got.length})`);
    t.deepEqual(
      got.slice(orig.length).split('\n').filter((s) => s !== '').sort(),
      Array.from({ length: 8 }, (_, i) => `line${i}`),
      `${where}: each appended line exactly once`,
    );
  }
  t.is(readFileSync(join(l.lower, 'f'), 'latin1'), orig, 'lower unchanged');
});

test.serial('leftovers in workdir from a crash are removed at mount; no temp names ever show in the merged view or stay in upper', async (t) => {
  const l = layers(t);
  mkdirSync(join(l.work, 'work', 'dir'), { recursive: true });
  writeFileSync(join(l.work, 'work', 'junk'), 'half a copy');
  writeFileSync(join(l.work, 'work', 'dir', 'x'), 'half a copy');
  writeFileSync(join(l.lower, 'f'), ORIG);
  writeFileSync(join(l.lower, 'g'), ORIG);
  mkdirSync(join(l.lower, 'd'));
  writeFileSync(join(l.lower, 'd', 'h'), ORIG);
  const m = await mount(t, l);

  t.false(existsSync(join(l.work, 'work', 'junk')), 'W/work/junk removed');
  t.false(existsSync(join(l.work, 'work', 'dir')), 'W/work/dir removed');

  appendFileSync(m.path('f'), 'more\n');
  chmodSync(m.path('g'), 0o600);
  appendFileSync(m.path('d', 'h'), 'more\n');
  writeFileSync(m.path('new'), 'new');

  const walk = (root: string, rel = ''): string[] =>
    readdirSync(join(root, rel))
      .sort()
      .flatMap((n) => {
        const r = rel === '' ? n : `${rel}/${n}`;
        return lstatSync(join(root, r)).isDirectory() ? [r, ...walk(root, r)] : [r];
      });
  t.deepEqual(walk(m.mountpoint), ['d', 'd/h', 'f', 'g', 'new'], 'merged view');
  t.deepEqual(walk(l.upper), ['d', 'd/h', 'f', 'g', 'new'], 'upper holds the copies and nothing else');
});
