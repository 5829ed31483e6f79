// Unit tests for the fuse-overlayfs command line parser (src/config/overlay-args.ts).
import test from 'ava';
import type { ExecutionContext } from 'ava';
import {
  isOverlayCommandLine,
  OptionError,
  overlayBranchSpecs,
  parseIdMapping,
  parseOverlayArgs,
  splitLowerdirs,
  splitOverlayOptions,
  type OverlayMount,
} from '../../src/config/overlay-args.js';

function mount(argv: readonly string[]): OverlayMount {
  const c = parseOverlayArgs(argv);
  if (c.kind !== 'mount') throw new Error(`expected a mount, got ${c.kind}`);
  return c;
}

/** Parses `-o OPTS /mnt` with a minimal lowerdir in front. */
function withOpts(opts: string): OverlayMount {
  return mount(['-o', `lowerdir=/l,${opts}`, '/mnt']);
}

function rejects(t: ExecutionContext, fn: () => unknown, ...mentions: string[]): void {
  const e = t.throws(fn, { instanceOf: OptionError });
  for (const m of mentions) t.true(e?.message.includes(m), `'${e?.message}' should mention '${m}'`);
}

// --- the containers/storage invocations (reference §2.3) -----------------------------

const O = '/var/lib/containers/storage/overlay';

test('podman rootfs invocation, verbatim', (t) => {
  const opts = `lowerdir=${O}/l/TOPAAAAAAAAAAAAAAAAAAAAAAA:${O}/l/MIDAAAAAAAAAAAAAAAAAAAAAAA:${O}/l/BASEAAAAAAAAAAAAAAAAAAAAAA,upperdir=${O}/abc123/diff,workdir=${O}/abc123/work,volatile`;
  const argv = ['-o', opts, `${O}/abc123/merged`];
  t.true(isOverlayCommandLine(argv));
  const c = mount(argv);
  t.deepEqual(c, {
    kind: 'mount',
    mountpoint: `${O}/abc123/merged`,
    lowerdirs: [`${O}/l/TOPAAAAAAAAAAAAAAAAAAAAAAA`, `${O}/l/MIDAAAAAAAAAAAAAAAAAAAAAAA`, `${O}/l/BASEAAAAAAAAAAAAAAAAAAAAAA`],
    upperdir: `${O}/abc123/diff`,
    workdir: `${O}/abc123/work`,
    readOnly: false,
    branches: [
      { path: `${O}/abc123/diff`, mode: 'RW' },
      { path: `${O}/l/TOPAAAAAAAAAAAAAAAAAAAAAAA`, mode: 'RO' },
      { path: `${O}/l/MIDAAAAAAAAAAAAAAAAAAAAAAA`, mode: 'RO' },
      { path: `${O}/l/BASEAAAAAAAAAAAAAAAAAAAAAA`, mode: 'RO' },
    ],
    uidmapping: [],
    gidmapping: [],
    squash: { toRoot: false },
    staticNlink: false,
    noacl: false,
    fsync: false,
    volatile: true,
    xattrPermissions: 0,
    noxattrs: false,
    writeback: true,
    mountFlags: { ro: false, nosuid: false, nodev: false, noexec: false, noatime: false, nodiratime: false, allowOther: false, allowRoot: false, defaultPermissions: false },
    foreground: false,
    debug: false,
    ignored: [],
    warnings: [],
    unknownOptions: [],
  });
});

test('podman invocation with id maps, xattr_permissions and a quoted SELinux context', (t) => {
  const opts = `lowerdir=${O}/l/A:${O}/l/B,upperdir=${O}/x/diff,workdir=${O}/x/work,uidmapping=0:100000:1:1:100001:65536,gidmapping=0:200000:65537,xattr_permissions=2,context="system_u:object_r:container_file_t:s0:c1,c2"`;
  const c = mount(['-o', opts, `${O}/x/merged`]);
  t.deepEqual(c.uidmapping, [
    { inside: 0, outside: 100000, count: 1 },
    { inside: 1, outside: 100001, count: 65536 },
  ]);
  t.deepEqual(c.gidmapping, [{ inside: 0, outside: 200000, count: 65537 }]);
  t.is(c.xattrPermissions, 2);
  t.deepEqual(c.ignored, ['context']);
  t.deepEqual(c.warnings, [], 'the comma inside the quoted context must not make a stray option');
  t.is(c.workdir, `${O}/x/work`);
});

test('podman squash invocation', (t) => {
  const c = mount(['-o', `lowerdir=${O}/l/A,upperdir=${O}/x/diff,workdir=${O}/x/work,squash_to_uid=1000,squash_to_gid=1001`, `${O}/x/merged`]);
  t.deepEqual(c.squash, { toRoot: false, toUid: 1000, toGid: 1001 });
});

test('podman read-only layer mounts: no upper, read-only, all RO', (t) => {
  const c = mount(['-o', `lowerdir=${O}/id/diff:${O}/l/PARENT`, `${O}/id/merged`]);
  t.true(c.readOnly);
  t.is(c.upperdir, undefined);
  t.is(c.workdir, undefined);
  t.deepEqual(c.branches, [
    { path: `${O}/id/diff`, mode: 'RO' },
    { path: `${O}/l/PARENT`, mode: 'RO' },
  ]);
  const base = mount(['-o', `lowerdir=${O}/id/diff:${O}/id/empty`, `${O}/id/merged`]);
  t.deepEqual(base.lowerdirs, [`${O}/id/diff`, `${O}/id/empty`]);
  t.true(base.readOnly);
});

// --- the command line shape ----------------------------------------------------------

test('--version and -V are version; -h and --help are help, whatever else is there', (t) => {
  t.deepEqual(parseOverlayArgs(['--version']), { kind: 'version' });
  t.deepEqual(parseOverlayArgs(['-V']), { kind: 'version' });
  t.deepEqual(parseOverlayArgs(['-o', 'xattr_permissions=9', '--version']), { kind: 'version' });
  t.deepEqual(parseOverlayArgs(['--help']), { kind: 'help' });
  t.deepEqual(parseOverlayArgs(['-h', '-V']), { kind: 'help' });
});

test('mount.fuse3 form: SOURCE MOUNTPOINT -o OPTS; the last positional is the mountpoint', (t) => {
  const c = mount(['overlay', '/mnt', '-o', 'rw,lowerdir=/l1,lazytime']);
  t.is(c.mountpoint, '/mnt');
  t.is(c.source, 'overlay');
  t.deepEqual(c.warnings, []);
  const three = mount(['a', 'b', '/m', '-olowerdir=/l']);
  t.is(three.mountpoint, '/m');
  t.is(three.source, 'b');
  t.deepEqual(three.warnings, ['unknown argument ignored: a']);
});

test('-o spread over several flags, -oOPTS glued, and -- before the positionals', (t) => {
  const c = mount(['-o', 'lowerdir=/l1:/l2', '-oupperdir=/u', '-o', 'workdir=/w', '--', '-weird-mountpoint']);
  t.deepEqual(c.lowerdirs, ['/l1', '/l2']);
  t.is(c.upperdir, '/u');
  t.is(c.workdir, '/w');
  t.is(c.mountpoint, '-weird-mountpoint');
  t.true(isOverlayCommandLine(['-o', 'rw', '-olowerdir=/x', '/m']));
  t.false(isOverlayCommandLine(['-o', 'category.create=mfs', '/a:/b', '/m']));
  t.false(isOverlayCommandLine(['--', '-o', 'lowerdir=/x', '/m']), 'after -- nothing is an option');
});

test('-f, -d, --debug and -o debug', (t) => {
  t.true(mount(['-f', '-o', 'lowerdir=/l', '/m']).foreground);
  const d = mount(['-d', '-o', 'lowerdir=/l', '/m']);
  t.true(d.debug);
  t.true(d.foreground, '-d implies -f');
  t.true(mount(['--debug', '-o', 'lowerdir=/l', '/m']).debug);
  t.true(withOpts('debug').debug);
  t.false(mount(['-o', 'lowerdir=/l', '/m']).foreground);
});

test('missing pieces are errors', (t) => {
  rejects(t, () => parseOverlayArgs(['-o', 'upperdir=/u,workdir=/w', '/m']), 'lowerdir', 'required');
  rejects(t, () => parseOverlayArgs(['-o', 'lowerdir=/l']), 'mountpoint');
  rejects(t, () => parseOverlayArgs(['-o']), '-o');
  rejects(t, () => parseOverlayArgs(['-o', 'lowerdir=/l,upperdir=/u', '/m']), 'upperdir', 'workdir');
  rejects(t, () => parseOverlayArgs(['-o', 'lowerdir=', '/m']), 'lowerdir');
  rejects(t, () => parseOverlayArgs(['-o', 'lowerdir=/l,upperdir=,workdir=/w', '/m']), 'upperdir');
});

test('workdir without upperdir is accepted (fuse-overlayfs just creates it)', (t) => {
  const c = withOpts('workdir=/w');
  t.true(c.readOnly);
  t.is(c.workdir, '/w');
});

test('lowerdir, upperdir and workdir given twice: the last one wins, as with libfuse %s', (t) => {
  const c = mount(['-o', 'lowerdir=/old1:/old2,upperdir=/u1,workdir=/w1', '-o', 'lowerdir=/new,upperdir=/u2,workdir=/w2', '/m']);
  t.deepEqual(c.lowerdirs, ['/new']);
  t.is(c.upperdir, '/u2');
  t.is(c.workdir, '/w2');
  t.deepEqual(c.branches, [
    { path: '/u2', mode: 'RW' },
    { path: '/new', mode: 'RO' },
  ]);
});

// --- escapes -------------------------------------------------------------------------

test('\\: is a colon inside a lowerdir path; \\\\: (libfuse style) too', (t) => {
  t.deepEqual(mount(['-o', 'lowerdir=/a\\:b:/c', '/m']).lowerdirs, ['/a:b', '/c']);
  t.deepEqual(mount(['-o', 'lowerdir=/a\\\\:b:/c', '/m']).lowerdirs, ['/a:b', '/c']);
  t.deepEqual(splitLowerdirs('/x\\:y\\:z'), ['/x:y:z']);
  t.deepEqual(splitLowerdirs('/back\\\\slash:/q'), ['/back\\slash', '/q']);
  t.deepEqual(splitLowerdirs('/keep\\n'), ['/keep\\n'], 'a backslash before anything else stays');
});

test('empty lowerdir items are rejected with their position', (t) => {
  rejects(t, () => splitLowerdirs('/a::/b'), 'position 2');
  rejects(t, () => splitLowerdirs(':/a'), 'position 1');
  rejects(t, () => splitLowerdirs('/a:'), 'position 2');
  rejects(t, () => parseOverlayArgs(['-o', 'lowerdir=/a::/b', '/m']), 'lowerdir', 'empty');
});

test('paths with = and escaped commas', (t) => {
  const c = mount(['-o', 'lowerdir=/l=1:/l\\,2,upperdir=/u=x\\,y,workdir=/w', '/m']);
  t.deepEqual(c.lowerdirs, ['/l=1', '/l,2']);
  t.is(c.upperdir, '/u=x,y');
  t.deepEqual(splitOverlayOptions('a=1\\,2,b,\\101bc,,c="x,y"'), ['a=1,2', 'b', 'Abc', 'c=x,y']);
});

// --- every option --------------------------------------------------------------------

test('uidmapping and gidmapping: flat triples', (t) => {
  const c = withOpts('uidmapping=0:1000:1:1:100000:65536,gidmapping=0:1000:1');
  t.deepEqual(c.uidmapping, [
    { inside: 0, outside: 1000, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
  ]);
  t.deepEqual(c.gidmapping, [{ inside: 0, outside: 1000, count: 1 }]);
});

test('malformed id mappings name the option and the syntax', (t) => {
  for (const bad of ['0:1000', '0:1000:1:1', 'a:b:c', '0:-1:1', '0:1000:1:', '', '0::1', '0:1000:0', '4294967295:0:2']) {
    rejects(t, () => withOpts(`uidmapping=${bad}`), 'uidmapping');
  }
  rejects(t, () => withOpts('gidmapping=1:2'), 'gidmapping', 'CONTAINER:HOST:COUNT');
  rejects(t, () => parseIdMapping('uidmapping', undefined), 'uidmapping');
});

test('squash_to_root, squash_to_uid, squash_to_gid', (t) => {
  t.deepEqual(withOpts('squash_to_root').squash, { toRoot: true });
  t.deepEqual(withOpts('squash_to_root,squash_to_uid=5').squash, { toRoot: true, toUid: 5 });
  t.deepEqual(withOpts('squash_to_gid=0').squash, { toRoot: false, toGid: 0 });
  rejects(t, () => withOpts('squash_to_uid=x'), 'squash_to_uid', 'uid');
  rejects(t, () => withOpts('squash_to_gid=-1'), 'squash_to_gid');
  rejects(t, () => withOpts('squash_to_uid'), 'squash_to_uid');
});

test('static_nlink, noacl, volatile, noxattrs, writeback', (t) => {
  const c = withOpts('static_nlink,noacl,noxattrs=1,writeback=0');
  t.true(c.staticNlink);
  t.true(c.noacl);
  t.true(c.noxattrs);
  t.false(c.writeback);
  t.true(c.fsync);
  const v = withOpts('volatile');
  t.true(v.volatile);
  t.false(v.fsync, 'volatile means fsync=0');
  rejects(t, () => withOpts('static_nlink=yes'), 'static_nlink');
});

test('fsync=0|1 and the Rust alias sync=', (t) => {
  t.false(withOpts('fsync=0').fsync);
  t.true(withOpts('fsync=1').fsync);
  t.false(withOpts('sync=0').fsync);
  t.true(withOpts('fsync=0,fsync=1').fsync, 'last wins');
  rejects(t, () => withOpts('fsync=off'), 'fsync', '0|1');
  rejects(t, () => withOpts('fsync'), 'fsync');
});

test('xattr_permissions=0|1|2; anything else fails naming the allowed values', (t) => {
  t.is(withOpts('xattr_permissions=0').xattrPermissions, 0);
  t.is(withOpts('xattr_permissions=1').xattrPermissions, 1);
  t.is(withOpts('xattr_permissions=2').xattrPermissions, 2);
  rejects(t, () => withOpts('xattr_permissions=3'), 'xattr_permissions', '0|1|2', "'3'");
  rejects(t, () => withOpts('xattr_permissions=two'), 'xattr_permissions', '0|1|2');
  rejects(t, () => withOpts('xattr_permissions'), 'xattr_permissions', '0|1|2');
});

test('timeout: seconds, fractions allowed', (t) => {
  t.is(withOpts('timeout=0').timeout, 0);
  t.is(withOpts('timeout=2.5').timeout, 2.5);
  t.is(withOpts('timeout=1e9').timeout, 1e9);
  t.is(mount(['-o', 'lowerdir=/l', '/m']).timeout, undefined);
  rejects(t, () => withOpts('timeout=-1'), 'timeout', 'seconds');
  rejects(t, () => withOpts('timeout=soon'), 'timeout', 'seconds');
});

test('standard mount words set mountFlags, last one wins', (t) => {
  const c = withOpts('ro,nosuid,nodev,noexec,noatime,nodiratime,allow_other,allow_root,default_permissions');
  t.deepEqual(c.mountFlags, { ro: true, nosuid: true, nodev: true, noexec: true, noatime: true, nodiratime: true, allowOther: true, allowRoot: true, defaultPermissions: true });
  const d = withOpts('ro,rw,nosuid,suid,nodev,dev,noexec,exec,noatime,atime,nodiratime,diratime');
  t.deepEqual(d.mountFlags, { ro: false, nosuid: false, nodev: false, noexec: false, noatime: false, nodiratime: false, allowOther: false, allowRoot: false, defaultPermissions: false });
  t.deepEqual(withOpts('kernel_cache,splice_read,splice_write,splice_move,max_write=131072,lazytime,relatime,defaults,fsname=x,subtype=y').warnings, []);
  rejects(t, () => withOpts('max_write=big'), 'max_write');
});

test('ro with an upper layer makes the mount read-only but keeps the upper RW branch', (t) => {
  const c = withOpts('upperdir=/u,workdir=/w,ro');
  t.true(c.readOnly);
  t.deepEqual(c.branches[0], { path: '/u', mode: 'RW' });
});

test('accepted-and-ignored fuse-overlayfs options', (t) => {
  const c = withOpts('threaded=1,fast_ino=1,plugins=/x.so,redirect_dir=off,xino=auto,ino32_t,threaded=0');
  t.deepEqual(c.ignored, ['threaded', 'fast_ino', 'plugins', 'redirect_dir', 'xino', 'ino32_t']);
  t.deepEqual(c.warnings, []);
  rejects(t, () => withOpts('redirect_dir=on'), 'redirect_dir=off');
  rejects(t, () => withOpts('xino=maybe'), 'xino', 'off|auto|on');
});

// --- unknown options -----------------------------------------------------------------

test('unknown options and flags are warnings, never errors', (t) => {
  const c = mount(['--frobnicate', '-o', 'lowerdir=/l,bogus,metacopy=on,userxattr', '-x', '/m']);
  t.deepEqual(c.warnings, ['unknown argument ignored: --frobnicate', 'unknown argument ignored: bogus', 'unknown argument ignored: metacopy=on', 'unknown argument ignored: userxattr', 'unknown argument ignored: -x']);
  t.deepEqual(c.lowerdirs, ['/l']);
});

// --- branch specs ------------------------------------------------------------------------

test('overlayBranchSpecs resolves paths and keeps upper-first order', (t) => {
  const c = mount(['-o', 'lowerdir=l1:/abs/l2,upperdir=u,workdir=w', '/m']);
  t.deepEqual(overlayBranchSpecs(c, '/base'), [
    { path: '/base/u', mode: 'RW', minFreeSpace: undefined, fromGlob: undefined },
    { path: '/base/l1', mode: 'RO', minFreeSpace: undefined, fromGlob: undefined },
    { path: '/abs/l2', mode: 'RO', minFreeSpace: undefined, fromGlob: undefined },
  ]);
});
