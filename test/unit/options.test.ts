// Unit tests for the option table (src/config/options.ts) and the command
// line parser (src/cli/args.ts). Both are pure.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import path from 'node:path';
import { applyOption, defaultFsname, defaults, helpText, OptionError, optionTable, splitOptions, type Config, type OptionSpec } from '../../src/config/options.js';
import { parseArgs, type Command } from '../../src/cli/args.js';
import { CtlUsageError, parseCtlArgs, runCtl, type CtlDeps, type XattrIo } from '../../src/cli/ctl.js';

const fresh = (): Config => ({ ...defaults });

/** Applies one option to a fresh config and returns it. */
function with1(opt: string): Config {
  const c = fresh();
  applyOption(c, opt);
  return c;
}

function rejects(t: ExecutionContext, fn: () => unknown, ...mentions: string[]): void {
  const e = t.throws(fn, { instanceOf: OptionError });
  for (const m of mentions) t.true(e?.message.includes(m), `'${e?.message}' should mention '${m}'`);
}

/** A valid value for an option of the table (undefined: give it without one); `alt` picks another where there is a choice. */
function sample(s: OptionSpec, alt = false): string | undefined {
  if (s.value === '') return undefined;
  if (s.example !== undefined) return s.example;
  if (s.value === 'SECONDS') return alt ? '7' : '1';
  if (s.value.includes('|')) return s.value.split('|')[alt ? 1 : 0];
  return 'x';
}

/** The config parseArgs builds for `BRANCHES MOUNTPOINT` with nothing else given. */
function mounted(branches: string[], mountpoint: string, extra: Partial<Config> = {}): Config {
  const paths = branches.map((b) => path.resolve(b));
  return {
    ...defaults,
    branches: paths.map((p) => ({ path: p, mode: 'RW' as const, minFreeSpace: undefined, fromGlob: undefined })),
    mountpoint: path.resolve(mountpoint),
    fsname: defaultFsname(paths),
    ...extra,
  };
}

function mount(t: ExecutionContext, cmd: Command): Extract<Command, { kind: 'mount' }> {
  if (cmd.kind !== 'mount') {
    t.fail(`expected a mount command, got ${cmd.kind}`);
    throw new Error('not a mount');
  }
  return cmd;
}

// --- splitOptions -----------------------------------------------------------------

test('splitOptions splits on commas', (t) => {
  t.deepEqual(splitOptions('a'), ['a']);
  t.deepEqual(splitOptions('a,b,c=d'), ['a', 'b', 'c=d']);
  t.deepEqual(splitOptions('fsname=x y'), ['fsname=x y'], 'spaces are not separators');
});

test('splitOptions honours backslash escapes', (t) => {
  t.deepEqual(splitOptions('fsname=a\\,b,ro'), ['fsname=a,b', 'ro']);
  t.deepEqual(splitOptions('a\\\\,b'), ['a\\', 'b'], 'an escaped backslash does not escape the comma');
  t.deepEqual(splitOptions('x\\=y'), ['x=y'], 'any escaped character is itself');
  t.deepEqual(splitOptions('\\,'), [',']);
  t.deepEqual(splitOptions('a\\'), ['a\\'], 'a trailing backslash is kept');
});

test('splitOptions drops empty items', (t) => {
  t.deepEqual(splitOptions(''), []);
  t.deepEqual(splitOptions(','), []);
  t.deepEqual(splitOptions(',,a,,b,'), ['a', 'b']);
});

// --- applyOption ------------------------------------------------------------------

test('the defaults', (t) => {
  t.deepEqual(defaults, {
    branches: [],
    mountpoint: undefined,
    minFreeSpace: 4 * 1024 ** 3,
    branchesMountTimeout: 0,
    branchesMountTimeoutFail: false,
    funcOverrides: [],
    moveonenospc: 'pfrd',
    ignorepponrename: false,
    inodecalc: 'hybrid-hash',
    statfs: 'base',
    statfsIgnore: 'none',
    cacheStatfs: 0,
    linkExdev: 'passthrough',
    renameExdev: 'passthrough',
    xattr: 'passthrough',
    securityCapability: true,
    cacheFiles: 'off',
    cacheFilesProcessNames: ['rtorrent', 'qbittorrent-nox'],
    cacheWriteback: false,
    cow: false,
    cacheSymlinks: false,
    cacheReaddir: false,
    statx: false,
    readdirplus: 'auto',
    handleKillprivV2: true,
    locks: 'kernel',
    dropcacheonclose: false,
    syscalls: 'auto',
    reader: 'loop',
    pollSpinUs: 50,
    readaheadKiB: 0,
    ignored: [],
    passthroughIo: 'rw',
    cacheEntry: 1,
    cacheAttr: 1,
    cacheNegativeEntry: 0,
    allowOther: true,
    readOnly: false,
    nosuid: true,
    nodev: true,
    noexec: false,
    noatime: false,
    fsname: undefined,
    debug: false,
    logLevel: 'info',
    maxWrite: 1024 * 1024,
  });
});

test('passthrough.io and its alias take off|ro|wo|rw', (t) => {
  for (const name of ['passthrough.io', 'passthrough']) {
    for (const v of ['off', 'ro', 'wo', 'rw'] as const) t.is(with1(`${name}=${v}`).passthroughIo, v, `${name}=${v}`);
  }
});

test('passthrough.io rejects other values, naming the option and the choices', (t) => {
  for (const bad of ['passthrough.io=on', 'passthrough.io=RW', 'passthrough.io=', 'passthrough.io']) {
    rejects(t, () => with1(bad), 'passthrough.io', 'off|ro|wo|rw');
  }
  rejects(t, () => with1('passthrough=yes'), 'passthrough', 'off|ro|wo|rw');
});

test('readdirplus takes auto, or a boolean as before auto existed (bare: true)', (t) => {
  t.is(with1('readdirplus=auto').readdirplus, 'auto');
  for (const v of ['readdirplus', 'readdirplus=true', 'readdirplus=1', 'readdirplus=on']) t.is(with1(v).readdirplus, 'true', v);
  for (const v of ['readdirplus=false', 'readdirplus=0', 'readdirplus=no']) t.is(with1(v).readdirplus, 'false', v);
  rejects(t, () => with1('readdirplus=sometimes'), 'readdirplus', 'auto|true|false');
});

test('the cache timeouts and their aliases take seconds', (t) => {
  const cases: Array<[string, keyof Config]> = [
    ['cache.entry', 'cacheEntry'],
    ['entry_timeout', 'cacheEntry'],
    ['cache.attr', 'cacheAttr'],
    ['attr_timeout', 'cacheAttr'],
    ['cache.negative_entry', 'cacheNegativeEntry'],
    ['negative_timeout', 'cacheNegativeEntry'],
  ];
  for (const [name, field] of cases) {
    t.is(with1(`${name}=0`)[field], 0, name);
    t.is(with1(`${name}=2.5`)[field], 2.5, name);
    t.is(with1(`${name}=3600`)[field], 3600, name);
  }
});

test('the cache timeouts reject what is not a number of seconds >= 0', (t) => {
  for (const name of ['cache.entry', 'entry_timeout', 'cache.attr', 'attr_timeout', 'cache.negative_entry', 'negative_timeout']) {
    for (const bad of ['-1', 'abc', '', 'Infinity', 'NaN', '1s']) {
      rejects(t, () => with1(`${name}=${bad}`), name, 'seconds');
    }
    rejects(t, () => with1(name), name, 'seconds');
  }
});

test('allow_other and debug take an optional true|false, in every spelling mergerfs reads', (t) => {
  for (const [name, field] of [
    ['allow_other', 'allowOther'],
    ['debug', 'debug'],
  ] as const) {
    for (const [v, want] of [
      ['', true],
      ['=true', true],
      ['=1', true],
      ['=false', false],
      ['=0', false],
      ['=yes', true],
      ['=on', true],
      ['=t', true],
      ['=no', false],
      ['=off', false],
      ['=f', false],
    ] as const) {
      const c = fresh();
      c[field] = !want;
      applyOption(c, `${name}${v}`);
      t.is(c[field], want, `${name}${v}`);
    }
    rejects(t, () => with1(`${name}=maybe`), name, 'true|false');
    rejects(t, () => with1(`${name}=TRUE`), name, 'true|false');
    rejects(t, () => with1(`${name}=`), name, 'true|false');
  }
});

test('fsname takes any string, commas and equals signs included', (t) => {
  t.is(with1('fsname=pool').fsname, 'pool');
  t.is(with1('fsname=a=b').fsname, 'a=b', 'only the first = separates the value');
  const c = fresh();
  for (const o of splitOptions('fsname=a\\,b')) applyOption(c, o);
  t.is(c.fsname, 'a,b');
});

test('the value-less mount flags set their field', (t) => {
  const cases: Array<[string, keyof Config, boolean]> = [
    ['ro', 'readOnly', true],
    ['rw', 'readOnly', false],
    ['suid', 'nosuid', false],
    ['nosuid', 'nosuid', true],
    ['dev', 'nodev', false],
    ['nodev', 'nodev', true],
    ['exec', 'noexec', false],
    ['noexec', 'noexec', true],
    ['noatime', 'noatime', true],
    ['atime', 'noatime', false],
    ['relatime', 'noatime', false],
  ];
  for (const [name, field, want] of cases) {
    const c = fresh();
    (c as unknown as Record<string, boolean>)[field] = !want;
    applyOption(c, name);
    t.is(c[field], want, name);
  }
});

test('default_permissions and defaults are accepted and change nothing', (t) => {
  t.deepEqual(with1('default_permissions'), defaults);
  t.deepEqual(with1('defaults'), defaults);
});

test('every name and alias in the table is accepted by applyOption', (t) => {
  // A value each kind of option takes; value-less options take none.
  // Read-only information (version, pid) is refused by design.
  let n = 0;
  for (const s of optionTable) {
    if (s.kind === 'info') continue;
    for (const name of s.names) {
      const v = sample(s);
      t.notThrows(() => with1(v === undefined ? name : `${name}=${v}`), name);
      n++;
    }
  }
  t.true(n >= 20, `only ${n} names in the table?`);
});

test('every option changes the config as its first name does', (t) => {
  // An alias must do exactly what its main name does.
  for (const s of optionTable) {
    const [main, ...aliases] = s.names;
    if (main === undefined) {
      t.fail('an option without a name');
      continue;
    }
    if (s.kind === 'info') continue;
    const sv = sample(s, true);
    const v = sv === undefined ? '' : `=${sv}`;
    const want = with1(`${main}${v}`);
    for (const a of aliases) t.deepEqual(with1(`${a}${v}`), want, `${a} vs ${main}`);
  }
});

test('an unknown option is an OptionError naming it', (t) => {
  rejects(t, () => with1('nosuchthing'), 'nosuchthing');
  rejects(t, () => with1('nosuchthing=3'), 'nosuchthing');
  rejects(t, () => with1('Ro'), 'Ro');
  rejects(t, () => with1('cache.entry.x=1'), 'cache.entry.x');
  rejects(t, () => with1('=1'));
});

test('a failed option leaves the config unchanged', (t) => {
  const c = fresh();
  t.throws(() => applyOption(c, 'cache.entry=-5'), { instanceOf: OptionError });
  t.throws(() => applyOption(c, 'passthrough.io=maybe'), { instanceOf: OptionError });
  t.deepEqual(c, defaults);
});

test('an option that takes no value does not silently ignore one', (t) => {
  // `-o ro=false` must not mount read-only, nor `-o noexec=0` forbid exec:
  // an option without a value must either honour true|false (as allow_other
  // and debug do) or refuse a value with an OptionError.
  const ignored: string[] = [];
  for (const s of optionTable) {
    if (s.value !== '') continue;
    for (const name of s.names) {
      try {
        with1(`${name}=bogus`);
        ignored.push(`${name}=bogus`);
      } catch (e) {
        t.true(e instanceof OptionError, `${name}=bogus threw ${String(e)}`);
      }
    }
  }
  t.deepEqual(ignored, [], `accepted and ignored the value: ${ignored.join(' ')}`);
});

test('applyOption does not touch the shared defaults', (t) => {
  const before = { ...defaults };
  const c = fresh();
  applyOption(c, 'ro');
  applyOption(c, 'cache.entry=9');
  applyOption(c, 'fsname=q');
  t.deepEqual(defaults, before);
});

// --- helpText -----------------------------------------------------------------------

test('helpText() shows every option (main name) with its value and doc', (t) => {
  const help = helpText();
  const flat = help.replace(/\s+/g, ' '); // docs are word-wrapped
  for (const s of optionTable) {
    const main = s.names[0] ?? '';
    t.true(help.includes(`-o ${main}${s.value ? `=${s.value}` : ''}`), `help lacks -o ${main}`);
    t.true(flat.includes(s.doc), `help lacks the doc of ${main}`);
  }
});

test('helpText() mentions every option name in the table, aliases included', (t) => {
  const help = helpText();
  const missing = optionTable.flatMap((s) => s.names).filter((n) => !new RegExp(`(^|[^\\w.])${n.replace(/\./g, '\\.')}([^\\w.]|$)`, 'm').test(help));
  t.deepEqual(missing, [], `--help never mentions: ${missing.join(', ')}`);
});

test('option names are unique across the table', (t) => {
  const names = optionTable.flatMap((s) => s.names);
  t.is(new Set(names).size, names.length);
});

// --- parseArgs ----------------------------------------------------------------------

test('parseArgs: SOURCE MOUNTPOINT with the defaults', (t) => {
  const m = mount(t, parseArgs(['/src', '/mnt']));
  t.is(m.source, '/src');
  t.is(m.mountpoint, '/mnt');
  t.false(m.foreground);
  t.deepEqual(m.config, mounted(['/src'], '/mnt'));
  t.not(m.config, defaults, 'a copy, not the shared object');
});

test('parseArgs: -f runs in the foreground without debug', (t) => {
  const m = mount(t, parseArgs(['-f', 'a', 'b']));
  t.true(m.foreground);
  t.false(m.config.debug);
  const m2 = mount(t, parseArgs(['a', 'b', '-f']));
  t.true(m2.foreground, 'flags may follow the positionals');
});

test('parseArgs: -d implies foreground and debug', (t) => {
  const m = mount(t, parseArgs(['-d', 'a', 'b']));
  t.true(m.foreground);
  t.true(m.config.debug);
});

test('parseArgs: -o debug implies foreground too', (t) => {
  const m = mount(t, parseArgs(['-o', 'debug', 'a', 'b']));
  t.true(m.config.debug);
  t.true(m.foreground);
  const m2 = mount(t, parseArgs(['-o', 'debug=false', 'a', 'b']));
  t.false(m2.config.debug);
  t.false(m2.foreground);
});

test('parseArgs: -o a,b and -oa,b forms', (t) => {
  for (const argv of [
    ['-o', 'ro,cache.entry=5', 'a', 'b'],
    ['-oro,cache.entry=5', 'a', 'b'],
    ['a', '-o', 'ro,cache.entry=5', 'b'],
  ]) {
    const m = mount(t, parseArgs(argv));
    t.true(m.config.readOnly, argv.join(' '));
    t.is(m.config.cacheEntry, 5, argv.join(' '));
    t.is(m.source, 'a');
    t.is(m.mountpoint, 'b');
  }
});

test('parseArgs: -o values with escaped commas', (t) => {
  const m = mount(t, parseArgs(['-o', 'fsname=x\\,y,noexec', 'a', 'b']));
  t.is(m.config.fsname, 'x,y');
  t.true(m.config.noexec);
});

test('parseArgs: several -o are applied left to right, the later wins', (t) => {
  const m = mount(t, parseArgs(['-o', 'ro,cache.attr=1', '-ocache.attr=3,rw', '-o', 'passthrough=off', 'a', 'b', '-o', 'passthrough.io=ro']));
  t.false(m.config.readOnly);
  t.is(m.config.cacheAttr, 3);
  t.is(m.config.passthroughIo, 'ro');
  const m2 = mount(t, parseArgs(['-o', 'rw', '-o', 'ro', 'a', 'b']));
  t.true(m2.config.readOnly);
  const m3 = mount(t, parseArgs(['-o', 'ro,rw', 'a', 'b']));
  t.false(m3.config.readOnly, 'left to right within one -o too');
});

test('parseArgs: an empty -o is fine', (t) => {
  t.deepEqual(mount(t, parseArgs(['-o', '', 'a', 'b'])).config, mounted(['a'], 'b'));
});

test('parseArgs: -- ends the flags', (t) => {
  const m = mount(t, parseArgs(['-f', '--', '-weird', '-o']));
  t.is(m.source, '-weird');
  t.is(m.mountpoint, '-o');
  t.true(m.foreground);
  const m2 = mount(t, parseArgs(['--', '-h', '-d']));
  t.is(m2.source, '-h');
  t.is(m2.mountpoint, '-d');
  t.false(m2.config.debug);
  t.false(m2.foreground);
});

test('parseArgs: too few positionals is an OptionError', (t) => {
  // Three or more are fine since mergerfs's BRANCH1 BRANCH2 … MOUNTPOINT shape (mergerfs-compat tests).
  rejects(t, () => parseArgs([]), '0');
  rejects(t, () => parseArgs(['a']), '1');
  rejects(t, () => parseArgs(['-f', 'a']));
  rejects(t, () => parseArgs(['-o', 'ro', '--', 'b']), '1');
});

test('parseArgs: bad flags and bad options are OptionErrors', (t) => {
  rejects(t, () => parseArgs(['-x', 'a', 'b']), '-x');
  rejects(t, () => parseArgs(['--frobnicate', 'a', 'b']), '--frobnicate');
  rejects(t, () => parseArgs(['-o', 'nosuch', 'a', 'b']), 'nosuch');
  rejects(t, () => parseArgs(['-onosuch', 'a', 'b']), 'nosuch');
  rejects(t, () => parseArgs(['a', 'b', '-o']), '-o');
  rejects(t, () => parseArgs(['-o', 'cache.entry=-1', 'a', 'b']), 'cache.entry');
});

test('parseArgs: a lone - is a positional', (t) => {
  const m = mount(t, parseArgs(['-', 'b']));
  t.is(m.source, '-');
});

test('parseArgs: -h and --help ask for help wherever they are', (t) => {
  t.deepEqual(parseArgs(['-h']), { kind: 'help' });
  t.deepEqual(parseArgs(['--help']), { kind: 'help' });
  t.deepEqual(parseArgs(['a', 'b', '-h']), { kind: 'help' });
  t.deepEqual(parseArgs(['-f', '--help', 'too', 'many', 'args']), { kind: 'help' });
});

test('parseArgs: -V and --version ask for the version', (t) => {
  t.deepEqual(parseArgs(['-V']), { kind: 'version' });
  t.deepEqual(parseArgs(['--version']), { kind: 'version' });
  t.deepEqual(parseArgs(['a', '-V']), { kind: 'version' });
});

test('parseArgs does not change the shared defaults', (t) => {
  const before = { ...defaults };
  parseArgs(['-d', '-o', 'ro,fsname=z,cache.entry=9,passthrough=off', 'a', 'b']);
  t.deepEqual(defaults, before);
});

// --- braidfs ctl (argument handling and output; the xattr calls are faked) ----------

test('parseCtlArgs: the four commands', (t) => {
  t.deepEqual(parseCtlArgs(['/mnt', 'list']), { kind: 'list', mountpoint: '/mnt' });
  t.deepEqual(parseCtlArgs(['/mnt', 'get', 'cache.files']), { kind: 'get', mountpoint: '/mnt', name: 'cache.files' });
  t.deepEqual(parseCtlArgs(['/mnt', 'get', 'user.braidfs.cache.files']), { kind: 'get', mountpoint: '/mnt', name: 'cache.files' }, 'the xattr prefix is optional');
  t.deepEqual(parseCtlArgs(['/mnt', 'set', 'func.getattr', 'newest']), { kind: 'set', mountpoint: '/mnt', name: 'func.getattr', value: 'newest' });
  t.deepEqual(parseCtlArgs(['/mnt', 'set', 'fsname', '']), { kind: 'set', mountpoint: '/mnt', name: 'fsname', value: '' }, 'an empty value is a value');
  t.deepEqual(parseCtlArgs(['/mnt', 'where', 'a/b']), { kind: 'where', mountpoint: '/mnt', path: 'a/b' });
  t.deepEqual(parseCtlArgs(['-h']), { kind: 'help' });
  t.deepEqual(parseCtlArgs(['/mnt', '--help']), { kind: 'help' });
});

test('parseCtlArgs: malformed command lines are CtlUsageErrors with one clear line', (t) => {
  for (const [argv, mention] of [
    [[], 'MOUNTPOINT'],
    [['/mnt'], 'COMMAND'],
    [['/mnt', 'frob'], 'frob'],
    [['/mnt', 'list', 'x'], 'no arguments'],
    [['/mnt', 'get'], 'NAME'],
    [['/mnt', 'get', 'a', 'b'], 'NAME'],
    [['/mnt', 'set', 'a'], 'NAME VALUE'],
    [['/mnt', 'where'], 'PATH'],
    [['/mnt', 'where', ''], 'PATH'],
    [['/mnt', 'get', 'user.braidfs.'], 'not an option name'],
    [['', 'list'], 'MOUNTPOINT'],
  ] as const) {
    const e = t.throws(() => parseCtlArgs(argv), { instanceOf: CtlUsageError });
    t.true(e?.message.includes(mention), `${argv.join(' ')}: '${e?.message}' should mention '${mention}'`);
    t.false(e?.message.includes('\n'));
  }
});

interface FakeMount {
  attrs: Map<string, Map<string, string>>;
  sets: Array<[string, string, string]>;
}

function fakeCtl(m: FakeMount, fail?: string): { deps: Partial<CtlDeps>; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const error = (code: string): Error => Object.assign(new Error(code), { code });
  const xattr: XattrIo = {
    get: async (p, n) => {
      if (fail) throw error(fail);
      const v = m.attrs.get(p)?.get(n);
      if (v === undefined) throw error(m.attrs.has(p) ? 'ENODATA' : 'ENOENT');
      return Buffer.from(v);
    },
    set: async (p, n, v) => {
      if (fail) throw error(fail);
      m.sets.push([p, n, v.toString()]);
    },
    list: async (p) => {
      if (fail) throw error(fail);
      const attrs = m.attrs.get(p);
      if (!attrs) throw error('ENOENT');
      return [...attrs.keys()];
    },
  };
  return { deps: { xattr, out: (s) => out.push(s), err: (s) => err.push(s), cwd: () => '/home/u' }, out, err };
}

const control = new Map([
  ['user.braidfs.branches', '/d1=RW:/d2=RW'],
  ['user.braidfs.cache.files', 'off'],
  ['security.selinux', 'x'],
]);

test('runCtl list / get / set talk to MOUNTPOINT/.braidfs', async (t) => {
  const m: FakeMount = { attrs: new Map([['/mnt/pool/.braidfs', control]]), sets: [] };
  let f = fakeCtl(m);
  t.is(await runCtl(['/mnt/pool', 'list'], f.deps), 0);
  t.is(f.out.join(''), 'branches=/d1=RW:/d2=RW\ncache.files=off\n', 'only user.braidfs.* names, prefix stripped');
  f = fakeCtl(m);
  t.is(await runCtl(['/mnt/pool', 'get', 'cache.files'], f.deps), 0);
  t.is(f.out.join(''), 'off\n');
  f = fakeCtl(m);
  t.is(await runCtl(['pool', 'set', 'cache.files', 'full'], { ...f.deps, cwd: () => '/mnt' }), 0, 'a relative MOUNTPOINT is taken from the cwd');
  t.deepEqual(m.sets, [['/mnt/pool/.braidfs', 'user.braidfs.cache.files', 'full']]);
  t.deepEqual(f.out, []);
});

test('runCtl where prints the four per-path keys, allpaths one per line', async (t) => {
  const keys = (base: string): Map<string, string> =>
    new Map([
      ['user.braidfs.basepath', base],
      ['user.braidfs.relpath', '/a/b'],
      ['user.braidfs.fullpath', `${base}/a/b`],
      ['user.braidfs.allpaths', `/d1/a/b\0/d2/a/b\0`],
    ]);
  const m: FakeMount = { attrs: new Map([['/mnt/pool/a/b', keys('/d1')]]), sets: [] };
  for (const p of ['a/b', '/mnt/pool/a/b']) {
    const f = fakeCtl(m);
    t.is(await runCtl(['/mnt/pool', 'where', p], f.deps), 0, p);
    t.is(f.out.join(''), 'basepath: /d1\nrelpath: /a/b\nfullpath: /d1/a/b\nallpaths: /d1/a/b\nallpaths: /d2/a/b\n', p);
  }
});

test('runCtl: exit 2 and one line for bad usage, 0 and the usage for --help', async (t) => {
  const m: FakeMount = { attrs: new Map(), sets: [] };
  let f = fakeCtl(m);
  t.is(await runCtl(['/mnt', 'frob'], f.deps), 2);
  t.is(f.err.length, 1);
  t.regex(f.err[0] ?? '', /^braidfs ctl: unknown command 'frob'.*\n$/);
  t.false((f.err[0] ?? '').slice(0, -1).includes('\n'), 'one line');
  f = fakeCtl(m);
  t.is(await runCtl(['--help'], f.deps), 0);
  t.true(f.out.join('').includes('usage: braidfs ctl MOUNTPOINT'));
});

test('runCtl: exit 1 and one line naming the problem when the mount says no', async (t) => {
  const m: FakeMount = { attrs: new Map([['/mnt/pool/.braidfs', control], ['/mnt/bare/.braidfs', new Map([['user.other', 'x']])]]), sets: [] };
  const cases: Array<[string[], string | undefined, RegExp]> = [
    [['/mnt/pool', 'get', 'nosuch'], undefined, /unknown option 'nosuch'/],
    [['/mnt/other', 'list'], undefined, /'\/mnt\/other' is not a braidfs mount/],
    [['/mnt/pool', 'set', 'fsname', 'x'], 'EROFS', /'fsname' can only be set at mount time/],
    [['/mnt/pool', 'set', 'inodecalc', 'md5'], 'EINVAL', /invalid value 'md5' for option 'inodecalc'/],
    [['/mnt/pool', 'set', 'debug', 'true'], 'EACCES', /permission denied/],
    [['/mnt/pool', 'get', 'debug'], 'EOPNOTSUPP', /not a braidfs mount/],
    [['/mnt/pool', 'where', 'x'], 'ENODATA', /'x' is not in a braidfs mount/],
    [['/mnt/pool', 'where', 'x'], undefined, /'x': no such file/],
    [['/mnt/bare', 'list'], undefined, /'\/mnt\/bare' is not a braidfs mount/],
  ];
  for (const [argv, fail, want] of cases) {
    const f = fakeCtl(m, fail);
    t.is(await runCtl(argv, f.deps), 1, argv.join(' '));
    t.is(f.err.length, 1);
    t.regex(f.err[0] ?? '', want, argv.join(' '));
    t.regex(f.err[0] ?? '', /^braidfs ctl: [^\n]*\n$/);
  }
});
