// READDIRPLUS of a pool directory below the root is written by the addon
// (dir.ts packedReaddirplus, addon.c readdirPlusSync): it stats each listed
// name on the branch that won it, fills in the attributes and the shown
// inode number, and JS only hands out the nodes. Checked from a separate
// process against the branch files themselves: what `ls -l`-style readers
// see (lstat after the listing, served from the READDIRPLUS attributes) is
// the first branch's file, d_ino equals st_ino, nothing is listed twice, and
// the names it handed out are registered with the addon (their later
// LOOKUPs are answered there).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, withMount, type Mounted } from '../../helpers/mount.js';
import { addonAnswered, run, sleep } from '../util.js';

const O_PATH = 0o10000000;
const NON_UTF8 = Buffer.from([0x6e, 0x6f, 0x6e, 0xff, 0xfe]);

function populate(a: string, b: string): void {
  for (const r of [a, b]) mkdirSync(join(r, 'd'));
  const put = (root: string, name: string, content: string, mode = 0o644): void => {
    writeFileSync(join(root, 'd', name), content);
    chmodSync(join(root, 'd', name), mode);
  };
  for (let i = 0; i < 60; i++) put(i % 2 ? a : b, `f${i}`, 'x'.repeat(i), i % 3 ? 0o644 : 0o755);
  put(a, 'both', 'on a');
  put(b, 'both', 'on b, longer');
  mkdirSync(join(b, 'd', 'sub'));
  symlinkSync('../../outside', join(a, 'd', 'link'));
  spawnSync('mkfifo', [join(b, 'd', 'fifo')]);
  put(a, '.wh.looks-like-a-whiteout', 'w');
  put(b, 'n'.repeat(255), 'long');
  writeFileSync(Buffer.concat([Buffer.from(join(b, 'd') + '/'), NON_UTF8]), 'bytes');
}

/** From a python child: every name of DIR (hex) with d_ino and its lstat right after the listing. */
async function listWithStats(dir: string): Promise<Array<{ name: string; dIno: string; st: Array<number | string> }>> {
  const script = [
    'import os, sys, json',
    'd = os.fsencode(sys.argv[1])',
    'out = []',
    'for e in os.scandir(d):',
    '    s = os.lstat(os.path.join(d, e.name))',
    '    out.append({"name": e.name.hex(), "dIno": str(e.inode()), "st": [str(s.st_ino), s.st_mode, s.st_size, s.st_nlink, s.st_uid, s.st_gid, str(s.st_mtime_ns)]})',
    'print(json.dumps(out))',
  ].join('\n');
  const r = await run('python3', ['-c', script, dir]);
  if (r.code !== 0) throw new Error(`python: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<{ name: string; dIno: string; st: Array<number | string> }>;
}

const addonLookups = async (m: Mounted): Promise<number> => (await addonAnswered(m)).get('LOOKUP') ?? 0;

test('READDIRPLUS written by the addon: attributes of the winning branch file, d_ino = st_ino, each name once; its names are then served by the addon', async (t) => {
  const a = makeTempDir('braidfs-rdp-a-');
  const b = makeTempDir('braidfs-rdp-b-');
  populate(a, b);
  const m = await withMount(t, { source: `${a}:${b}`, options: ['cache.entry=0.5', 'cache.attr=0.5', 'passthrough.io=off', 'readdirplus=true'] });
  const listed = await listWithStats(m.path('d'));
  t.is(listed.length, 60 + 7, `names listed: ${listed.map((e) => Buffer.from(e.name, 'hex').toString('latin1')).join(' ')}`);
  t.is(new Set(listed.map((e) => e.name)).size, listed.length, 'each name once');
  for (const e of listed) {
    const name = Buffer.from(e.name, 'hex');
    const label = name.toString('latin1');
    const onA = Buffer.concat([Buffer.from(join(a, 'd') + '/'), name]);
    const onB = Buffer.concat([Buffer.from(join(b, 'd') + '/'), name]);
    let want;
    try {
      want = lstatSync(onA, { bigint: true });
    } catch {
      want = lstatSync(onB, { bigint: true });
    }
    const [ino, mode, size, nlink, uid, gid, mtimeNs] = e.st;
    t.is(e.dIno, String(ino), `${label}: d_ino equals st_ino`);
    t.deepEqual([mode, size, nlink, uid, gid, String(mtimeNs)], [Number(want.mode), Number(want.size), Number(want.nlink), Number(want.uid), Number(want.gid), String(want.mtimeNs)], `${label}: attributes of the winning file`);
  }
  t.is(
    listed.find((e) => Buffer.from(e.name, 'hex').toString() === 'both')!.st[2],
    4,
    'the first branch wins "both"',
  );
  // The names handed out by READDIRPLUS, looked up again once expired, are answered by the addon.
  // Held open (O_PATH) meanwhile, so that a drop_caches by a test running
  // beside this one cannot make the kernel forget them (a forgotten name is
  // no longer served, and its LOOKUP goes to JS).
  const pins = listed.map((e) => openSync(Buffer.concat([Buffer.from(m.path('d') + '/'), Buffer.from(e.name, 'hex')]), O_PATH | constants.O_NOFOLLOW));
  t.teardown(() => pins.forEach((fd) => closeSync(fd)));
  const before = await addonLookups(m);
  await sleep(700);
  // Straight lstat of each name, no listing first: a LOOKUP per expired name.
  const script = 'import os, sys\nfor h in sys.argv[2:]: os.lstat(os.path.join(os.fsencode(sys.argv[1]), bytes.fromhex(h)))';
  const r = await run('python3', ['-c', script, m.path('d'), ...listed.map((e) => e.name)]);
  t.is(r.code, 0, r.stderr);
  const answered = (await addonLookups(m)) - before;
  t.true(answered >= listed.length * 0.9, `LOOKUPs answered by the addon: ${answered} of ${listed.length} names`);
});
