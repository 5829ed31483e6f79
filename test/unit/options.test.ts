// Unit tests for the option table (src/config/options.ts) and the command
// line parser (src/cli/args.ts). Both are pure.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { applyOption, defaults, helpText, OptionError, optionTable, splitOptions, type Config } from '../../src/config/options.js';
import { parseArgs, type Command } from '../../src/cli/args.js';

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

test('allow_other and debug take an optional true|false', (t) => {
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
    ] as const) {
      const c = fresh();
      c[field] = !want;
      applyOption(c, `${name}${v}`);
      t.is(c[field], want, `${name}${v}`);
    }
    rejects(t, () => with1(`${name}=yes`), name, 'true|false');
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
  const sample = (value: string): string | undefined => {
    if (value === '') return undefined;
    if (value === 'SECONDS') return '1';
    if (value.includes('|')) return value.split('|')[0];
    return 'x';
  };
  let n = 0;
  for (const s of optionTable) {
    for (const name of s.names) {
      const v = sample(s.value);
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
    const v = s.value === '' ? '' : s.value === 'SECONDS' ? '=7' : s.value.includes('|') ? `=${s.value.split('|')[1] ?? ''}` : '=x';
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
  for (const s of optionTable) {
    const main = s.names[0] ?? '';
    t.true(help.includes(`-o ${main}${s.value ? `=${s.value}` : ''}`), `help lacks -o ${main}`);
    t.true(help.includes(s.doc), `help lacks the doc of ${main}`);
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
  t.deepEqual(m.config, defaults);
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
  t.deepEqual(mount(t, parseArgs(['-o', '', 'a', 'b'])).config, defaults);
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

test('parseArgs: the wrong number of positionals is an OptionError', (t) => {
  rejects(t, () => parseArgs([]), '0');
  rejects(t, () => parseArgs(['a']), '1');
  rejects(t, () => parseArgs(['a', 'b', 'c']), '3');
  rejects(t, () => parseArgs(['-f', 'a']));
  rejects(t, () => parseArgs(['a', '--', 'b', 'c']));
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
